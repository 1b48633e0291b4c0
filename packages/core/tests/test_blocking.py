from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator

import pytest

from asgi_lifecycle import Lifespan, LifespanContext, StartupFailed


class LoopBoundClient:
    """Stands in for an async client: usable only on the loop that made it."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.closed = False

    async def get(self, path: str) -> str:
        assert asyncio.get_running_loop() is self.loop, "used on another event loop"
        await asyncio.sleep(0)
        return f"GET {path}"

    async def aclose(self) -> None:
        assert asyncio.get_running_loop() is self.loop
        self.closed = True


def test_run_blocking_keeps_one_loop_from_startup_to_shutdown(lp: Lifespan) -> None:
    """Resources made by async hooks stay usable from sync code until shutdown."""
    clients: list[LoopBoundClient] = []

    @lp.resource(key="http")
    async def client() -> AsyncIterator[LoopBoundClient]:
        made = LoopBoundClient()
        clients.append(made)
        yield made
        await made.aclose()

    context = LifespanContext("worker")
    with lp.run_blocking(context) as runner:
        http = runner.context.state["http"]
        assert runner.call(http.get("/a")) == "GET /a"
        results: list[str] = []
        thread = threading.Thread(target=lambda: results.append(runner.call(http.get("/b"))))
        thread.start()
        thread.join(5)
        assert results == ["GET /b"]
        assert runner.loop is clients[0].loop
        assert lp.is_initialized()
    assert clients[0].closed
    assert not lp.is_initialized()


def test_run_blocking_start_and_stop_explicitly(lp: Lifespan) -> None:
    """start() and stop() work without a with-block, and stop() twice is harmless."""
    events: list[str] = []
    lp.on_start(name="s")(lambda: events.append("start"))
    lp.on_shutdown(name="t")(lambda: events.append("stop"))
    runner = lp.run_blocking(LifespanContext("worker"))
    report = runner.start()
    assert report.ok
    assert runner.running
    assert runner.stop().ok
    assert runner.stop().results == ()
    assert events == ["start", "stop"]
    with pytest.raises(RuntimeError, match="already started"):
        runner.start()


def test_run_blocking_startup_failure_raises_and_closes_the_loop(lp: Lifespan) -> None:
    """A failed startup raises StartupFailed in the caller and leaves no loop thread."""

    @lp.on_start
    async def broken() -> None:
        raise RuntimeError("no broker")

    before = set(threading.enumerate())
    runner = lp.run_blocking(LifespanContext("worker"))
    with pytest.raises(StartupFailed, match="no broker"):
        runner.start()
    assert not [
        t for t in set(threading.enumerate()) - before if t.name.startswith("asgi-lifecycle-worker")
    ]
    with pytest.raises(RuntimeError, match="not started"):
        _ = runner.loop


def test_call_needs_a_running_runner(lp: Lifespan) -> None:
    """call() before start() says how to start the runner."""

    async def work() -> int:
        return 1

    runner = lp.run_blocking(LifespanContext("worker"))
    with pytest.raises(RuntimeError, match="run_blocking"):
        runner.call(work())


def test_call_from_the_loop_itself_is_refused(lp: Lifespan) -> None:
    """call() on the runner's own loop is refused instead of deadlocking."""
    with lp.run_blocking(LifespanContext("worker")) as runner:

        async def inner() -> int:
            return 1

        async def outer() -> str:
            try:
                runner.call(inner())
            except RuntimeError as error:
                return str(error)
            return "no error"

        assert "'await' the coroutine instead" in runner.call(outer())


def test_call_timeout_cancels_the_coroutine(lp: Lifespan) -> None:
    """call(timeout=...) raises TimeoutError and cancels the coroutine."""
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with lp.run_blocking(LifespanContext("worker")) as runner:
        with pytest.raises(TimeoutError):
            runner.call(slow(), timeout=0.05)
        assert cancelled.wait(5)


def test_stop_from_atexit_runs_sync_hooks() -> None:
    """A runner stopped by an atexit handler still runs its sync shutdown hooks."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import atexit
        from asgi_lifecycle import Lifespan, LifespanContext

        lp = Lifespan()

        @lp.on_shutdown
        def close() -> None:
            print("closed", flush=True)

        runner = lp.run_blocking(LifespanContext("worker"))
        runner.start()
        atexit.register(runner.stop)
        print("started", flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["started", "closed"]


def test_a_forked_child_starts_its_own_run() -> None:
    """A child forked while a run is running starts a run of its own, hooks and all."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import os
        from asgi_lifecycle import Lifespan, LifespanContext

        lp = Lifespan()

        @lp.on_start
        def hello() -> None:
            print(f"start in {'child' if os.getpid() != parent else 'parent'}", flush=True)

        parent = os.getpid()
        runner = lp.run_blocking(LifespanContext("worker"))
        runner.start()
        pid = os.fork()
        if pid == 0:
            print(f"child initialized: {lp.is_initialized()}", flush=True)
            child = lp.run_blocking(LifespanContext("worker"))
            child.start()
            child.stop()
            os._exit(0)
        os.waitpid(pid, 0)
        runner.stop()
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", script],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "start in parent",
        "child initialized: False",
        "start in child",
    ]


def test_the_runner_thread_leaves_stop_signals_to_the_main_thread(lp: Lifespan) -> None:
    """The runner's loop thread blocks SIGTERM and SIGINT, so the kernel hands them to the main thread."""  # noqa: E501

    async def blocked() -> set[int | signal.Signals]:
        return signal.pthread_sigmask(signal.SIG_BLOCK, [])

    with lp.run_blocking(LifespanContext("worker")) as runner:
        mask = asyncio.run_coroutine_threadsafe(blocked(), runner.loop).result(5.0)
    assert {signal.SIGTERM, signal.SIGINT} <= mask
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
