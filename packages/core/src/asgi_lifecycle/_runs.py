"""The runs of one `Lifespan` in this process: starting or joining one, stopping it, signals.

A run is named by its service type and environment. Its first starter owns it:
it plans the run, hands it to the runner (`start`) and watches the stop signals
until the run has stopped. Later starters join it and share its context's state;
the run stops when the last of them shuts down. The health monitor hears every
change of state.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from concurrent.futures import Future

from ._calling import SyncRunner, run_in_thread
from ._context import LifespanContext
from ._events import LifecycleState, Listeners
from ._health import HealthMonitor
from ._hook import Hook
from ._registry import Registry
from ._report import LifecycleReport
from ._runner import Run, progress, start, stop
from ._signals import StopWatch, signal_name

__all__ = ("Key", "Runs")

Key = tuple[str, str]  # (service type, environment)

logger = logging.getLogger("asgi_lifecycle")


class Runs:
    """Every run of one registry in this process, with its state and its stop signals.

    Args:
        registry: Where a new run's plan comes from.
        listeners: Told what every run does.
        health_ttl: Seconds a health check's result is served from the cache.

    Attributes:
        listeners: Told what every run does; replaced (never changed) on a new listener.
        health: The runs' states, and the health checks' cache.
    """

    def __init__(self, registry: Registry, listeners: Listeners, health_ttl: float) -> None:
        self.listeners = listeners
        self.health = HealthMonitor(health_ttl)
        self._registry = registry
        self._lock = threading.RLock()
        self._active: dict[Key, Run] = {}
        self._stopping: dict[Key, Run] = {}
        self._watches: dict[Key, StopWatch | None] = {}

    def forget(self) -> None:
        """Drop every run and state without stopping it: a forked child, or a test resetting."""
        self.health.forget()
        self._lock = threading.RLock()
        self._active = {}
        self._stopping = {}
        self._watches = {}

    def keys(self) -> list[Key]:
        """The runs that started and did not stop yet."""
        return sorted(self._active)

    def get(self, key: Key) -> Run | None:
        """The run named ``key``, if it started and did not stop yet."""
        return self._active.get(key)

    def running(self) -> bool:
        """Whether a run is between a successful startup and its shutdown."""
        with self._lock:
            return any(run.running for run in self._active.values())

    def missed_by(self, hook: Hook) -> list[Key]:
        """The runs that began before ``hook`` was registered but would run it."""
        if not self._active:
            return []
        with self._lock:
            return [run.key for run in self._active.values() if hook.matches(*run.key)]

    async def start(
        self,
        context: LifespanContext,
        *,
        concurrent: bool,
        sync_runner: SyncRunner | None,
        timeout: float | None,
        startup_timeout: float | None,
        shutdown_timeout: float | None,
        stop_signals: bool,
    ) -> LifecycleReport:
        """Start the run ``context`` names, or join it if it is already starting or running.

        ``sync_runner=None`` runs each sync hook in a daemon thread of its own.
        """
        key = (context.service_type, context.environment)
        waiter: Future[LifecycleReport] | None = None
        with self._lock:
            run = self._active.get(key)
            if run is None:
                plan = self._registry.plan(*key)
                run = Run(context, plan, concurrent, sync_runner or run_in_thread, timeout)
                self._active[key] = run
                owner = True
                self.health.set_state(key, LifecycleState.STARTING, self.listeners)
            else:
                run.refs += 1
                owner = False
                if not run.running:
                    if run.ready is None:
                        run.ready = Future()
                    waiter = run.ready
        if not owner:
            return await self._join(run, context, waiter)
        watch = self._watch(key) if stop_signals else None
        try:
            report = await start(run, startup_timeout, shutdown_timeout, self.listeners)
        except BaseException as exc:  # joiners waiting on this startup fail too
            with self._lock:
                if self._active.get(key) is run:
                    del self._active[key]
                waiter = run.ready
            self.health.set_state(key, LifecycleState.FAILED, self.listeners)
            if watch is not None:
                watch.restore()
            if waiter is not None:
                waiter.set_exception(exc)
            raise
        with self._lock:
            run.running = True
            run.report = report
            waiter = run.ready
        self.health.set_state(key, LifecycleState.READY, self.listeners)
        if watch is not None:
            watch.defer_default = False  # from now on a SIGTERM nobody handles ends the process
            self._watches[key] = watch
        if waiter is not None:
            waiter.set_result(report)
        return report

    async def _join(
        self, run: Run, context: LifespanContext, waiter: Future[LifecycleReport] | None
    ) -> LifecycleReport:
        logger.info(
            "startup of %r (%s) is already %s in this process; joining it: its hooks "
            "run once and it stops when the last starter shuts down",
            run.key[0], run.key[1], "in progress" if waiter is not None else "done",
        )  # fmt: skip
        if waiter is None:
            assert run.report is not None
            report = run.report
        else:
            try:
                report = await asyncio.wrap_future(waiter)
            except BaseException:
                with self._lock:
                    run.refs -= 1
                raise
        _attach(context, run.context)
        return report

    async def stop(
        self, context: LifespanContext, shutdown_timeout: float | None
    ) -> LifecycleReport:
        """Shut down the run ``context`` names, once its last starter asks."""
        key = (context.service_type, context.environment)
        with self._lock:
            run = self._active.get(key)
            if run is not None and run.running:
                run.refs -= 1
                remaining = run.refs
                if remaining == 0:
                    del self._active[key]
            else:
                remaining = -1
        if run is None or remaining == -1:
            logger.warning(
                "shutdown of %r (%s) requested, but it is not running in this process; "
                "nothing to do",
                key[0], key[1],
            )  # fmt: skip
            return LifecycleReport("shutdown", key[0], key[1], (), 0.0)
        _attach(context, run.context)
        if remaining > 0:
            logger.info(
                "shutdown of %r (%s): still used by %d other starter(s); it keeps running",
                key[0], key[1], remaining,
            )  # fmt: skip
            return LifecycleReport("shutdown", key[0], key[1], (), 0.0)
        run.running = False
        self.health.set_state(key, LifecycleState.DRAINING, self.listeners)
        self._stopping[key] = run
        try:
            return await stop(run, "shutdown", shutdown_timeout, self.listeners)
        finally:
            self._stopping.pop(key, None)
            watch = self._watches.pop(key, None)
            if watch is not None:
                watch.restore()
            self.health.set_state(key, LifecycleState.STOPPED, self.listeners)

    def drain(self, key: Key) -> None:
        """Turn a ready run's readiness off: it becomes draining."""
        if self.health.state(key) is LifecycleState.READY:
            self.health.set_state(key, LifecycleState.DRAINING, self.listeners)

    # -- stop signals -------------------------------------------------------------

    def _watch(self, key: Key) -> StopWatch | None:
        """Watch the stop signals for a run, from its startup until it stopped."""
        watch = StopWatch(lambda signum: self.request_stop(key, signum))
        return watch if watch.install() else None

    def request_stop(self, key: Key, signum: int) -> None:
        """Stop a startup in progress, or mark a ready run draining; safe from any thread."""
        run = self._active.get(key) or self._stopping.get(key)
        loop = None if run is None else run.loop
        if run is None or loop is None or loop.is_closed():
            return
        if not run.running and run.task is not None and key in self._active:
            if run.stop_signal is None:
                run.stop_signal = signum
                loop.call_soon_threadsafe(self._stop_startup, run)
        else:
            loop.call_soon_threadsafe(self._stop_signalled, key, signum)

    def _stop_startup(self, run: Run) -> None:
        task = run.task
        if task is None or task.done():
            return
        logger.warning(
            "%s during the startup of %r (%s): stopping it; the hooks that started are rolled "
            "back and the startup fails",
            signal_name(run.stop_signal or signal.SIGTERM), run.key[0], run.key[1],
        )  # fmt: skip
        task.cancel()

    def _stop_signalled(self, key: Key, signum: int) -> None:
        if self.health.state(key) is LifecycleState.READY:
            logger.info(
                "%s: %r (%s) is draining: readiness is off from now on",
                signal_name(signum), key[0], key[1],
            )  # fmt: skip
            self.drain(key)
            return
        run = self._stopping.get(key)
        if run is not None:
            logger.warning(
                "%s during the shutdown of %r (%s), which is still running: %s",
                signal_name(signum), key[0], key[1], progress(run),
            )  # fmt: skip


def _attach(context: LifespanContext, run_context: LifespanContext) -> None:
    """Let a joining starter's context share the run's state and metadata."""
    if context is not run_context:
        context.state = run_context.state
        context.metadata = run_context.metadata
