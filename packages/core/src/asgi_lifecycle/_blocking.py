"""Running a lifespan from synchronous code, on a loop of its own.

It knows a lifespan only by its two calls, `startup` and `shutdown` (the
`Startable` protocol), so that it sits below the `Lifespan` facade that makes it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Protocol, TypeVar

from ._calling import SyncRunner
from ._context import LifespanContext
from ._report import LifecycleReport
from ._signals import StopWatch, leave_stop_signals_to_the_main_thread

__all__ = ("BlockingRunner", "Startable")

T = TypeVar("T")


class Startable(Protocol):
    """What a `BlockingRunner` runs: a `Lifespan`, as far as it needs to know."""

    stop_signals: bool

    def request_stop(
        self,
        service_type: str | None = None,
        environment: str | None = None,
        *,
        signum: int = ...,
    ) -> None:
        """Do what a stop signal does to the run (see `Lifespan.request_stop`)."""

    async def startup(
        self,
        context: LifespanContext,
        *,
        concurrent: bool | None = None,
        sync_runner: SyncRunner | None = None,
    ) -> LifecycleReport:
        """Run the startup of the run ``context`` names."""

    async def shutdown(self, context: LifespanContext) -> LifecycleReport:
        """Run the shutdown of the run ``context`` names."""


class BlockingRunner:
    """Keeps one event loop alive, on its own thread, from startup to shutdown.

    Made by `Lifespan.run_blocking`. Use it as a context manager, or call
    `start` and `stop` yourself (for example from a worker's signal handlers).
    Every async hook, teardown and `call` of one runner uses the same loop, so
    an async client made at startup works until shutdown.

    Attributes:
        context: The run's context (its ``state`` holds the published resources).
        report: The startup report, once `start` returned.
    """

    def __init__(
        self,
        lifespan: Startable,
        context: LifespanContext,
        *,
        concurrent: bool | None = None,
        sync_runner: SyncRunner | None = None,
    ) -> None:
        self.context = context
        self.report: LifecycleReport | None = None
        self._lifespan = lifespan
        self._concurrent = concurrent
        self._sync_runner = sync_runner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._running = False
        self._watching: StopWatch | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The runner's event loop (only while it is started)."""
        if self._loop is None:
            raise RuntimeError("the BlockingRunner is not started; call start() first")
        return self._loop

    @property
    def running(self) -> bool:
        """Whether startup succeeded and `stop` has not been called yet."""
        return self._running

    def start(self) -> LifecycleReport:
        """Start the loop thread and run the startup on it; block until it is done.

        Raises:
            StartupFailed: as `Lifespan.startup` does; the loop is then closed.
            RuntimeError: if this runner was already started.
        """
        if self._thread is not None:
            raise RuntimeError("this BlockingRunner was already started; make a new one")
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            leave_stop_signals_to_the_main_thread()  # and so do the hooks' threads it starts
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                try:
                    pending = asyncio.all_tasks(loop)
                    for task in pending:
                        task.cancel()
                    if pending:
                        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                    loop.run_until_complete(loop.shutdown_asyncgens())
                finally:
                    asyncio.set_event_loop(None)
                    loop.close()

        name = f"asgi-lifecycle-{self.context.service_type}"
        self._loop = loop
        self._thread = threading.Thread(target=main, name=name, daemon=True)
        self._thread.start()
        ready.wait()
        # The startup runs on the loop's thread, so the lifespan cannot see the stop signals
        # there; this thread (the main thread, usually) watches them for it, until stop().
        watch = self._watch()
        try:
            self.report = self._submit(
                self._lifespan.startup(
                    self.context, concurrent=self._concurrent, sync_runner=self._sync_runner
                )
            )
        except BaseException:
            if watch is not None:
                watch.restore()
            self._close()
            raise
        self._running = True
        if watch is not None:
            watch.defer_default = False
        self._watching = watch
        return self.report

    def _watch(self) -> StopWatch | None:
        lifespan, context = self._lifespan, self.context
        if not getattr(lifespan, "stop_signals", False):
            return None
        watch = StopWatch(
            lambda signum: lifespan.request_stop(
                context.service_type, context.environment, signum=signum
            )
        )
        return watch if watch.install() else None

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the runner's loop and return its result.

        Callable from any thread but the loop's own (a task, a WSGI view, a script).

        Args:
            coro: The coroutine to run.
            timeout: Seconds to wait; the coroutine is cancelled when they run out.

        Raises:
            TimeoutError: the coroutine did not finish within ``timeout``.
            RuntimeError: the runner is not running, or this is the loop's own thread.
        """
        if not self._running or self._loop is None:
            coro.close()
            raise RuntimeError(
                "BlockingRunner.call() needs a running lifespan: use "
                "'with lifespan.run_blocking(context) as runner:' or runner.start() first"
            )
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError(
                "BlockingRunner.call() was called on the runner's own loop, where it would "
                "wait for itself forever; 'await' the coroutine instead"
            )
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"the coroutine did not finish within {timeout} s") from None

    def stop(self) -> LifecycleReport:
        """Run the shutdown on the loop, then stop and close the loop and its thread.

        Calling it again, or on a runner whose startup failed, does nothing.
        """
        if not self._running:
            return LifecycleReport(
                "shutdown", self.context.service_type, self.context.environment, (), 0.0
            )
        self._running = False
        try:
            return self._submit(self._lifespan.shutdown(self.context))
        finally:
            watching, self._watching = self._watching, None
            if watching is not None:
                watching.restore()
            self._close()

    def _submit(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _close(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._loop = None

    def __enter__(self) -> BlockingRunner:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
