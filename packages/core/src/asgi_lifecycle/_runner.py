"""One run of a plan: its phases, their timeouts, the rollback, the reports.

`start` runs a run's startup phase by phase and rolls back what started when a
critical hook fails; `stop` runs its shutdown (or that rollback) in exactly the
reverse order, every hook, whatever the others do. Each hook's outcome is kept
as a small record; the `HookResult` objects are made only for listeners and for
whoever reads a report's results.

Timeouts: a sequential phase with a budget arms one watchdog for the whole phase
instead of a timer per hook; when the budget runs out it cancels the hook running
then, which is recorded as timed out. Hooks with a tighter timeout of their own,
hooks of a concurrent group, and hooks that start after the budget is spent get a
timer each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import Future
from time import perf_counter
from types import AsyncGeneratorType
from typing import Any

from ._calling import (
    Closer,
    SyncRunner,
    call_sync,
    close_resource,
    enter_async,
    enter_sync,
    never_yielded,
    yielded_twice,
)
from ._context import LifespanContext
from ._errors import HookRegistrationError, HookTimeout, StartupFailed, StopRequested
from ._events import Listeners, notify
from ._hook import Hook
from ._plan import Plan
from ._report import HookResult, LifecycleReport, Outcome, Phase, Record, action_of
from ._signals import signal_name

__all__ = ("Run", "progress", "start", "stop")

logger = logging.getLogger("asgi_lifecycle")

# Once the shutdown budget is spent, each hook still due gets this long, so that one
# hung hook cannot keep every later teardown from running at all.
SHUTDOWN_GRACE = 0.1

_NOT_OK = frozenset(("failed", "timed_out", "cancelled"))


class _Abort(Exception):
    """Raised inside a concurrent phase to cancel its other hooks."""


class Run:
    """One running (or starting) combination of service type and environment.

    Attributes:
        key: ``(service_type, environment)``.
        context: The context its hooks receive.
        plan: The hooks it runs, in order.
        concurrent: Whether hooks of one phase run concurrently.
        sync_runner: How its sync hooks are run.
        default_timeout: The timeout of its hooks that have none of their own.
        refs: How many starters share it.
        running: Between a successful startup and the beginning of its shutdown.
        report: The startup report, once startup succeeded.
        ready: Made when a second starter waits for a startup still in progress.
        active: The resources whose setup finished, with how to close them.
        values: What the resources that carry a health check yielded, by hook name.
        failed: The hooks whose start or setup failed (non-critical ones: startup
            went on), by name.
        loop: The event loop its startup ran on (its resources' loop).
        task: The task running its startup, while it runs.
        stop_signal: The stop signal that stopped its startup, if one did.
        phase: The phase running now, if one is.
        publishers: Which hook published each ``context.state`` key.
        begun: How many of the plan's phases startup had begun.
    """

    __slots__ = (
        "active",
        "begun",
        "concurrent",
        "context",
        "default_timeout",
        "failed",
        "key",
        "loop",
        "phase",
        "plan",
        "publishers",
        "ready",
        "refs",
        "report",
        "running",
        "stop_signal",
        "sync_runner",
        "task",
        "values",
    )

    def __init__(
        self,
        context: LifespanContext,
        plan: Plan,
        concurrent: bool,
        sync_runner: SyncRunner,
        default_timeout: float | None = None,
    ) -> None:
        self.key = (plan.service_type, plan.environment)
        self.context = context
        self.plan = plan
        self.concurrent = concurrent
        self.sync_runner = sync_runner
        self.refs = 1
        self.running = False
        self.report: LifecycleReport | None = None
        self.ready: Future[LifecycleReport] | None = None
        self.active: dict[Hook, Closer] = {}
        self.values: dict[str, Any] = {}
        self.failed: set[str] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None
        self.stop_signal: int | None = None
        self.phase: _Phase | None = None
        self.publishers: dict[str, str] = {}
        self.begun = 0
        self.default_timeout = default_timeout


class _Phase:
    """Runs the hooks of one phase of one run and records what each did."""

    __slots__ = (
        "budget",
        "current",
        "deadline",
        "debug",
        "expired",
        "failed",
        "fired",
        "info",
        "listeners",
        "name",
        "records",
        "run",
        "starting",
        "t0",
        "task",
        "watchdog",
    )

    def __init__(self, run: Run, name: Phase, budget: float | None, listeners: Listeners) -> None:
        self.run = run
        self.name: Phase = name
        self.starting = name == "startup"
        self.budget = budget
        self.listeners = listeners.hook_finished
        self.info = logger.isEnabledFor(logging.INFO)
        self.debug = logger.isEnabledFor(logging.DEBUG)
        self.records: dict[Hook, Record] = {}
        self.failed = 0
        self.watchdog: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[Any] | None = None
        self.expired = False
        self.current = False  # a watched hook is running on self.task
        self.fired = False  # the watchdog cancelled it
        self.t0 = perf_counter()
        self.deadline = None if budget is None else self.t0 + budget
        run.phase = self

    def arm(self) -> None:
        """Start the phase's watchdog, if it has a budget."""
        if self.deadline is not None and self.watchdog is None:
            loop = asyncio.get_running_loop()
            self.task = asyncio.current_task()
            self.watchdog = loop.call_at(loop.time() + self.deadline - perf_counter(), self._expire)

    def disarm(self) -> None:
        """Stop the watchdog at the end of the phase."""
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None

    def _expire(self) -> None:
        self.expired = True
        if self.current and self.task is not None:
            self.fired = True
            self.task.cancel()

    async def step(self, hook: Hook, watched: bool) -> BaseException | None:
        """Run the phase's action of one hook within its time; record it; return its error.

        Raises:
            asyncio.CancelledError: the phase was cancelled from outside.
        """
        if self.debug:
            logger.debug(
                "%s %r: %s %s", self.name, self.run.key[0], action_of(hook, self.name), hook.name
            )
        started = perf_counter()
        limit = hook.timeout
        if limit is None:
            limit = self.run.default_timeout
        by_budget = False
        if self.deadline is not None:
            remaining = self.deadline - started
            if watched and not self.expired and (limit is None or limit >= remaining):
                return await self._watched(hook, started)
            if not self.starting:
                remaining = max(remaining, SHUTDOWN_GRACE)
            if limit is None or remaining < limit:
                limit, by_budget = max(remaining, 0.0), True
        scope: asyncio.Timeout | None = None
        try:
            if limit is None:
                await self._act(hook)
            elif limit <= 0:
                raise TimeoutError
            else:
                async with asyncio.timeout(limit) as scope:
                    await self._act(hook)
        except asyncio.CancelledError:
            self.record(hook, "cancelled", started, self._stop_error(hook))
            raise
        except TimeoutError as exc:
            if limit is not None and (scope is None or scope.expired()):
                seconds = self.budget if by_budget and self.budget is not None else limit
                error = HookTimeout(hook.name, seconds, budget=by_budget, thread=not hook.is_async)
                return self.record(hook, "timed_out", started, error)
            return self.record(hook, "failed", started, exc)
        except BaseException as exc:  # recorded, then acted on by the caller
            return self.record(hook, "failed", started, exc)
        return self.record(hook, "ok", started, None)

    async def _watched(self, hook: Hook, started: float) -> BaseException | None:
        """Run a hook under the phase's watchdog instead of a timer of its own."""
        task = self.task
        self.current = True
        outcome: Outcome = "ok"
        error: BaseException | None = None
        try:
            await self._act(hook)
        except asyncio.CancelledError:
            if not self.fired or task is None:
                self.record(hook, "cancelled", started, self._stop_error(hook))
                raise
            task.uncancel()
            assert self.budget is not None
            error = HookTimeout(hook.name, self.budget, budget=True, thread=not hook.is_async)
            outcome = "timed_out"
        except BaseException as exc:  # recorded, then acted on by the caller
            error, outcome = exc, "failed"
        finally:
            self.current = False
            if self.fired and outcome != "timed_out" and task is not None:
                task.uncancel()  # the hook swallowed the watchdog's cancellation
            self.fired = False
        return self.record(hook, outcome, started, error)

    def _stop_error(self, hook: Hook) -> StopRequested | None:
        """Why a hook was cancelled, when a stop signal stopped the startup."""
        signum = self.run.stop_signal
        if signum is None or not self.starting:
            return None
        return StopRequested(signal_name(signum), thread=not hook.is_async)

    async def _act(self, hook: Hook) -> None:
        """What this phase does with a hook: start, set up, stop or tear down."""
        run = self.run
        args = (run.context,) if hook.takes_context else ()
        kind = hook.kind
        if kind == "resource":
            if self.starting:
                if hook.is_async:
                    obj = hook.func(*args)
                    if type(obj) is AsyncGeneratorType:  # the usual resource: inline
                        try:
                            value = await obj.__anext__()
                        except StopAsyncIteration:
                            raise never_yielded(hook) from None
                        closer: Closer = ("agen", obj)
                    else:
                        value, closer = await enter_async(hook, obj)
                else:
                    value, closer = await enter_sync(hook, args, run.sync_runner)
                run.active[hook] = closer
                # Every resource's: a check may name it (health_check(resource=...)) without
                # the resource carrying a check= of its own.
                run.values[hook.name] = value
                if value is not None:
                    _publish(run, hook, value)
                return
            closer = run.active.pop(hook)
            run.values.pop(hook.name, None)
            if closer[0] == "agen":
                obj = closer[1]
                try:
                    await obj.__anext__()
                except StopAsyncIteration:
                    return
                await obj.aclose()
                raise yielded_twice(hook)
            await close_resource(hook, closer, run.sync_runner)
        elif hook.is_async:
            await hook.func(*args)
        else:
            await call_sync(hook, args, run.sync_runner)

    def record(
        self, hook: Hook, outcome: Outcome, started: float, error: BaseException | None
    ) -> BaseException | None:
        """Keep what a hook did, log it, tell the listeners; return its error."""
        duration = perf_counter() - started
        self.records[hook] = (outcome, started - self.t0, duration, error)
        if outcome == "ok":
            if not self.info and not self.listeners:
                return None
            if self.info:
                logger.info(
                    "%s %r: %s %s ok in %.1f ms",
                    self.name, self.run.key[0], action_of(hook, self.name), hook.name,
                    duration * 1000, extra=self._fields(hook, outcome, duration),
                )  # fmt: skip
        else:
            self.failed += outcome in _NOT_OK
            if self.starting:
                self.run.failed.add(hook.name)
            if error is not None:
                level = logging.ERROR if hook.critical or not self.starting else logging.WARNING
                logger.log(
                    level,
                    "%s %r: %s %s %s after %.1f ms (%s): %s: %s",
                    self.name, self.run.key[0], action_of(hook, self.name), hook.name, outcome,
                    duration * 1000, hook.source, type(error).__name__, error,
                    exc_info=None if isinstance(error, HookTimeout | StopRequested) else error,
                    extra=self._fields(hook, outcome, duration),
                )  # fmt: skip
        if self.listeners:
            result = HookResult(
                hook, action_of(hook, self.name), outcome, started - self.t0, duration, error,
                self.name, self.run.key[0], self.run.key[1],
            )  # fmt: skip
            for listener in self.listeners:
                try:
                    listener(result)
                except Exception:
                    logger.exception(
                        "listener %r failed on %s of %s", listener, result.action, hook.name
                    )
        return error

    def _fields(self, hook: Hook, outcome: Outcome, duration: float) -> dict[str, Any]:
        """The structured fields of a hook's log record, for JSON formatters and structlog."""
        return {
            "hook": hook.name,
            "action": action_of(hook, self.name),
            "phase": self.name,
            "outcome": outcome,
            "duration_ms": round(duration * 1000, 3),
            "service_type": self.run.key[0],
            "environment": self.run.key[1],
        }

    def report(self, due: Sequence[Hook]) -> LifecycleReport:
        """The phase's report: every due hook, in scheduled order."""
        run = self.run
        return LifecycleReport.from_records(
            self.name, run.key[0], run.key[1], due, self.records, self.failed,
            perf_counter() - self.t0, run.concurrent,
        )  # fmt: skip


def progress(run: Run) -> str:
    """Which hooks of the phase running now have run, and which have not yet (for a log)."""
    phase = run.phase
    if phase is None:
        return "no phase is running"
    done = [f"{h.name} {record[0]}" for h, record in phase.records.items()]
    if phase.starting:
        pending = [h.name for h in run.plan.starting if h not in phase.records]
    else:
        pending = [
            h.name
            for h in reversed(run.plan.hooks)
            if h not in phase.records and (h.kind == "shutdown" or h in run.active)
        ]
    return (
        f"{phase.name} ran {len(done)} hook(s) ({', '.join(done) or 'none'}); "
        f"{len(pending)} not finished ({', '.join(pending) or 'none'})"
    )


def _publish(run: Run, hook: Hook, value: Any) -> None:
    state = run.context.state
    key = hook.key
    assert key is not None
    if key in state:
        by = run.publishers.get(key, "a hook that wrote context.state directly")
        raise HookRegistrationError(
            f"resource {hook.name!r} ({hook.source}) publishes context.state"
            f"[{key!r}], which {by!r} already set; give one of them another key="
        )
    state[key] = value
    run.publishers[key] = hook.name


async def start(
    run: Run,
    budget: float | None,
    rollback_budget: float | None,
    listeners: Listeners,
) -> LifecycleReport:
    """Run a run's startup, phase by phase; roll back and raise if a critical hook fails.

    Args:
        run: The run.
        budget: Seconds the whole startup may take, or ``None``.
        rollback_budget: Seconds a rollback may take (the shutdown budget), or ``None``.
        listeners: Told of the phase and of each hook.

    Raises:
        StartupFailed: a critical hook failed or timed out; what had started was
            rolled back first.
        BaseException: a cancellation (or ``KeyboardInterrupt``...) from outside, or
            raised by a critical hook, after the rollback.
    """
    run.loop = asyncio.get_running_loop()
    run.task = asyncio.current_task()
    if listeners.phase_started:
        notify(listeners.phase_started, "startup", *run.key)
    phase = _Phase(run, "startup", budget, listeners)
    failure: Hook | None = None
    try:
        phase.arm()
        for index, group in enumerate(run.plan.groups):
            run.begun = index + 1
            if run.concurrent and len(group) > 1:
                failure = await _start_group(phase, group)
            else:
                step = phase.step
                for hook in group:
                    if (
                        hook.kind != "shutdown"
                        and (await step(hook, True)) is not None
                        and hook.critical
                    ):
                        failure = hook
                        break
            if failure is not None:
                break
    except BaseException as exc:
        # Cancelled from outside (a stop signal, the server stopping): undo, then say so.
        phase.disarm()
        run.task = None
        report = phase.report(run.plan.starting)
        if listeners.phase_finished:
            notify(listeners.phase_finished, report)
        stopped = run.stop_signal is not None and isinstance(exc, asyncio.CancelledError)
        if stopped and run.loop is not None:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # the stop is answered here: a failed startup, rolled back
        rollback = await stop(run, "rollback", rollback_budget, listeners)
        if not stopped:
            raise
        assert run.stop_signal is not None
        stopped_by = StopRequested(signal_name(run.stop_signal))
        running = next((h for h, r in phase.records.items() if r[0] == "cancelled"), None)
        name = running.name if running is not None else "(between hooks)"
        raise StartupFailed(name, stopped_by, report, rollback) from None
    finally:
        phase.disarm()
        run.task = None
    report = phase.report(run.plan.starting)
    if listeners.phase_finished:
        notify(listeners.phase_finished, report)
    if failure is None:
        return report
    rollback = await stop(run, "rollback", rollback_budget, listeners)
    error = phase.records[failure][3]
    assert error is not None
    if not isinstance(error, Exception):
        raise error  # KeyboardInterrupt, SystemExit: after the rollback, as they were
    raise StartupFailed(failure.name, error, report, rollback) from error


async def _start_group(phase: _Phase, group: tuple[Hook, ...]) -> Hook | None:
    done = {hook.name: asyncio.Event() for hook in group}
    failures: list[Hook] = []

    async def one(hook: Hook) -> None:
        for dependency in hook.after:
            event = done.get(dependency)
            if event is not None:
                await event.wait()
        if (
            hook.kind != "shutdown"
            and (await phase.step(hook, False)) is not None
            and hook.critical
        ):
            failures.append(hook)
            raise _Abort  # its dependents stay waiting until the group cancels them
        done[hook.name].set()

    try:
        async with asyncio.TaskGroup() as tasks:
            for hook in group:
                tasks.create_task(one(hook))
    except* _Abort:
        pass
    return failures[0] if failures else None


async def stop(
    run: Run, name: Phase, budget: float | None, listeners: Listeners
) -> LifecycleReport:
    """Run a run's shutdown (or rollback): every due hook, in the reverse of the startup order.

    Only phases that startup had begun are stopped, and of resources only those
    whose setup finished. A hook's failure is recorded, never raised.
    """
    if listeners.phase_started:
        notify(listeners.phase_started, name, *run.key)
    phase = _Phase(run, name, budget, listeners)
    due_all: list[Hook] = []
    groups = run.plan.groups
    try:
        phase.arm()
        for index in range(run.begun - 1, -1, -1):
            group = groups[index]
            active = run.active
            due = [h for h in reversed(group) if h.kind == "shutdown" or h in active]
            due_all.extend(due)
            if run.concurrent and len(due) > 1:
                await _stop_group(phase, group, set(due))
            else:
                step = phase.step
                for hook in due:
                    await step(hook, True)
    finally:
        phase.disarm()
    if name == "shutdown":
        run.begun = 0
    report = phase.report(due_all)
    if listeners.phase_finished:
        notify(listeners.phase_finished, report)
    return report


async def _stop_group(phase: _Phase, group: tuple[Hook, ...], due: set[Hook]) -> None:
    done = {hook.name: asyncio.Event() for hook in group}
    dependents: dict[str, list[str]] = {}
    for hook in group:
        for dependency in hook.after:
            if dependency in done:
                dependents.setdefault(dependency, []).append(hook.name)

    async def one(hook: Hook) -> None:
        try:
            for name in dependents.get(hook.name, ()):
                await done[name].wait()
            if hook in due:
                await phase.step(hook, False)
        finally:
            done[hook.name].set()

    async with asyncio.TaskGroup() as tasks:
        for hook in group:
            tasks.create_task(one(hook))
