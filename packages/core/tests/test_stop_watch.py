from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from types import FrameType

import pytest

from asgi_lifecycle._signals import StopWatch


def run_script(body: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a plain Python script (no server, so SIGTERM has its default handler)."""
    script = "import asyncio, signal, sys\nfrom asgi_lifecycle import Lifespan, LifespanContext\n"
    return subprocess.run(
        [sys.executable, "-c", script + textwrap.dedent(body), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


STARTUP_INTERRUPTED = """
    lp = Lifespan()

    @lp.resource(name="db", priority=0)
    async def db():
        print("db up", flush=True)
        yield
        print("db down", flush=True)

    @lp.on_start(name="slow", priority=1)
    async def slow():
        signal.raise_signal(signal.SIGTERM)
        await asyncio.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 30)

    async def main():
        try:
            await lp.startup(LifespanContext("app", "test"))
        except BaseException as exc:
            print("startup failed:", type(exc).__name__, flush=True)
        print("after the startup", flush=True)

    asyncio.run(main())
    print("still alive", flush=True)
"""


def test_an_unhandled_sigterm_during_startup_ends_the_script_after_the_rollback() -> None:
    """In a plain script, SIGTERM during startup rolls back first, then ends the process by it."""
    done = run_script(STARTUP_INTERRUPTED)
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert done.stdout.splitlines() == ["db up", "db down"]


def test_an_unhandled_sigterm_after_startup_ends_the_script_at_once() -> None:
    """In a plain script, SIGTERM once the run is ready ends the process as if nobody watched."""
    done = run_script(
        """
        lp = Lifespan()

        async def main():
            await lp.startup(LifespanContext("app", "test"))
            print("ready", flush=True)
            signal.raise_signal(signal.SIGTERM)
            print("still alive", flush=True)

        asyncio.run(main())
        """
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert done.stdout.splitlines() == ["ready"]


def test_an_ignored_sigterm_stays_ignored() -> None:
    """A SIGTERM the process ignores neither stops the startup nor ends the process."""
    done = run_script(
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + textwrap.dedent(STARTUP_INTERRUPTED),
        "0.2",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["db up", "after the startup", "still alive"]


def test_a_watch_is_active_once_and_stays_one_chain() -> None:
    """StopWatch.active tells whether it is installed; installing twice chains only once."""
    seen: list[int] = []
    reached: list[int] = []

    def server(signum: int, frame: FrameType | None) -> None:
        reached.append(signum)

    previous = signal.signal(signal.SIGINT, server)
    try:
        watch = StopWatch(seen.append)
        assert not watch.active
        assert watch.install()
        assert watch.install()
        assert watch.active
        signal.raise_signal(signal.SIGINT)
        assert (seen, reached) == ([signal.SIGINT], [signal.SIGINT])
        watch.restore()
        assert not watch.active
        assert signal.getsignal(signal.SIGINT) is server
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_watch_cannot_be_installed_from_a_thread() -> None:
    """StopWatch.install returns False outside the main thread and changes no handler."""
    before = signal.getsignal(signal.SIGTERM)
    installed: list[bool] = []
    watch = StopWatch(lambda signum: None)
    thread = threading.Thread(target=lambda: installed.append(watch.install()))
    thread.start()
    thread.join(5)
    assert installed == [False]
    assert not watch.active
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize(
    ("defer", "expected"),
    [(True, ["seen 15", "still alive", "restoring"]), (False, ["seen 15"])],
)
def test_default_delivery_follows_defer_default(defer: bool, expected: list[str]) -> None:
    """A SIGTERM nobody handles ends the process at restore when deferred, else at once."""
    done = run_script(
        f"""
        from asgi_lifecycle._signals import StopWatch

        watch = StopWatch(lambda signum: print("seen", signum, flush=True), defer_default={defer})
        assert watch.install()
        signal.raise_signal(signal.SIGTERM)
        print("still alive", flush=True)
        print("restoring", flush=True)
        watch.restore()
        print("after the restore", flush=True)
        """
    )
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert done.stdout.splitlines() == expected
