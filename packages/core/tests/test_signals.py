from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import pytest

from asgi_lifecycle import (
    LifecycleState,
    Lifespan,
    LifespanContext,
    StartupFailed,
    StopRequested,
)

pytestmark = pytest.mark.anyio

CONTEXT = LifespanContext("app", "test")


class ServerHandler:
    """Stands for a server's own SIGTERM/SIGINT handler: records what reached it."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.seen.append(signum)


@pytest.fixture
def server() -> Iterator[ServerHandler]:
    """A server's handlers for SIGTERM and SIGINT, as uvicorn installs them before startup."""
    handler = ServerHandler()
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield handler
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def later(seconds: float, signum: int = signal.SIGTERM) -> None:
    """Deliver a signal to this process in a while, as a supervisor does."""
    asyncio.get_running_loop().call_later(seconds, signal.raise_signal, signum)


async def test_sigterm_during_startup_stops_it_and_rolls_back(
    server: ServerHandler, events: list[str]
) -> None:
    """A stop signal cancels the running hook, rolls back what started, and fails the startup."""
    lp = Lifespan()

    @lp.resource(name="db", priority=0)
    async def db() -> AsyncIterator[None]:
        events.append("db up")
        yield
        events.append("db down")

    @lp.on_start(name="slow", priority=1)
    async def slow() -> None:
        await asyncio.sleep(30)

    @lp.on_start(name="never", priority=2)
    def never() -> None:
        events.append("never")

    later(0.2)
    started = time.monotonic()
    with pytest.raises(StartupFailed) as caught:
        await lp.startup(CONTEXT)
    assert time.monotonic() - started < 5
    assert isinstance(caught.value.error, StopRequested)
    assert caught.value.hook == "slow"
    assert "SIGTERM arrived during the startup" in str(caught.value)
    assert [(r.hook.name, r.outcome) for r in caught.value.report.results] == [
        ("db", "ok"),
        ("slow", "cancelled"),
        ("never", "skipped"),
    ]
    assert isinstance(caught.value.report.results[1].error, StopRequested)
    assert events == ["db up", "db down"]
    assert server.seen == [signal.SIGTERM]  # the server's own handler still ran
    assert signal.getsignal(signal.SIGTERM) is server  # and it is back in place
    assert lp.state("app", "test") is LifecycleState.FAILED


async def test_a_sync_hook_is_abandoned_and_reported_so(server: ServerHandler) -> None:
    """A sync hook in a thread cannot be interrupted: the runner stops waiting and says so."""
    lp = Lifespan()
    release = threading.Event()

    @lp.on_start(name="blocking")
    def blocking() -> None:
        release.wait(10)

    later(0.2, signal.SIGINT)
    try:
        with pytest.raises(StartupFailed) as caught:
            await lp.startup(CONTEXT)
    finally:
        release.set()
    result = caught.value.report.results[0]
    assert result.outcome == "cancelled"
    assert "SIGINT arrived" in str(result.error)
    assert "the thread may still be running" in str(result.error)
    assert server.seen == [signal.SIGINT]


async def test_every_hook_of_a_concurrent_phase_is_cancelled(server: ServerHandler) -> None:
    """In a concurrent phase each running hook is cancelled; finished ones are rolled back."""
    lp = Lifespan(concurrent=True)
    torn_down: list[str] = []

    @lp.resource(name="fast")
    async def fast() -> AsyncIterator[None]:
        yield
        torn_down.append("fast")

    async def hang() -> None:
        await asyncio.sleep(30)

    for name in ("a", "b"):
        lp.add_start_hook(hang, name=name)

    later(0.2)
    with pytest.raises(StartupFailed) as caught:
        await lp.startup(CONTEXT)
    outcomes = {r.hook.name: r.outcome for r in caught.value.report.results}
    assert outcomes == {"fast": "ok", "a": "cancelled", "b": "cancelled"}
    assert torn_down == ["fast"]


async def test_a_stop_signal_after_startup_turns_readiness_off(server: ServerHandler) -> None:
    """Once ready, SIGTERM marks the run draining and reaches the server, which stops it."""
    lp = Lifespan()
    await lp.startup(CONTEXT)
    assert signal.getsignal(signal.SIGTERM) is not server  # watched while the run runs
    signal.raise_signal(signal.SIGTERM)
    await asyncio.sleep(0.05)  # the loop handles what the signal scheduled
    assert lp.state("app", "test") is LifecycleState.DRAINING
    assert server.seen == [signal.SIGTERM]
    await lp.shutdown(CONTEXT)
    assert signal.getsignal(signal.SIGTERM) is server


async def test_a_second_signal_during_shutdown_logs_what_ran(
    server: ServerHandler, caplog: pytest.LogCaptureFixture
) -> None:
    """A force-quit signal during a slow shutdown logs which hooks ran and which did not yet."""
    lp = Lifespan()

    @lp.on_shutdown(name="first_to_stop", priority=1)
    async def first_to_stop() -> None:
        await asyncio.sleep(0.3)

    @lp.resource(name="db", priority=0)
    async def db() -> AsyncIterator[None]:
        yield

    await lp.startup(CONTEXT)
    later(0.1)
    await lp.shutdown(CONTEXT)
    message = next(
        r.getMessage() for r in caplog.records if "during the shutdown" in r.getMessage()
    )
    assert "SIGTERM during the shutdown of 'app' (test)" in message
    assert "2 not finished (first_to_stop, db)" in message


async def test_stop_signals_can_be_left_to_the_server(server: ServerHandler) -> None:
    """stop_signals=False: the server's handlers are never touched; the startup finishes."""
    lp = Lifespan()
    lp.configure(stop_signals=False)
    handlers: list[object] = []

    @lp.on_start
    async def look() -> None:
        handlers.append(signal.getsignal(signal.SIGTERM))
        signal.raise_signal(signal.SIGTERM)
        await asyncio.sleep(0.05)

    await lp.startup(CONTEXT)
    assert handlers == [server]
    assert server.seen == [signal.SIGTERM]
    assert lp.state("app", "test") is LifecycleState.READY
    await lp.shutdown(CONTEXT)


def test_a_blocking_runner_watches_from_the_main_thread(server: ServerHandler) -> None:
    """run_blocking: the startup runs on its own thread; SIGTERM in the main thread stops it."""
    lp = Lifespan()
    events: list[str] = []

    @lp.resource(name="db", priority=0)
    def db() -> Iterator[None]:
        events.append("db up")
        yield
        events.append("db down")

    @lp.on_start(name="slow", priority=1)
    async def slow() -> None:
        await asyncio.sleep(30)

    timer = threading.Timer(
        0.3, signal.pthread_kill, (threading.main_thread().ident, signal.SIGTERM)
    )
    timer.start()
    try:
        with pytest.raises(StartupFailed) as caught:
            lp.run_blocking(LifespanContext("worker", "test")).start()
    finally:
        timer.cancel()
    assert isinstance(caught.value.error, StopRequested)
    assert events == ["db up", "db down"]
    assert server.seen == [signal.SIGTERM]


async def test_nothing_is_chained_outside_the_main_thread(caplog: pytest.LogCaptureFixture) -> None:
    """A startup on another thread's loop leaves the signal handlers alone."""
    lp = Lifespan()
    before = signal.getsignal(signal.SIGTERM)
    seen: list[object] = []

    @lp.on_start
    async def look() -> None:
        seen.append(signal.getsignal(signal.SIGTERM))

    def elsewhere() -> None:
        asyncio.run(lp.startup(CONTEXT))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(10)
    assert seen == [before]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
