"""What a lifespan tells the outside while it runs: its state, and events for listeners.

`LifecycleListener` is the seam for metrics, tracing and logs: subclass it and
override the events you need; the runner calls only what a listener overrides.
A plain function given to `Lifespan.add_listener` is a listener of
`LifecycleListener.hook_finished` alone.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from typing import Any, Literal

from ._report import HookResult, LifecycleReport, Phase

__all__ = (
    "CheckResult",
    "CheckStatus",
    "LifecycleListener",
    "LifecycleState",
    "Listeners",
)

logger = logging.getLogger("asgi_lifecycle")

CheckStatus = Literal["pass", "warn", "fail"]


class LifecycleState(enum.StrEnum):
    """Where a run (a service type and environment in one process) stands.

    ``starting`` → ``ready`` (startup complete) → ``draining`` (shutdown begun, or
    a stop signal seen) → ``stopped``; ``failed`` after a failed startup.
    """

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"
    STOPPED = "stopped"
    FAILED = "failed"


class CheckResult:
    """One run of one health check (or its cached answer).

    Attributes:
        name: The check's name.
        status: ``"pass"``, ``"warn"`` (a non-critical check failed) or ``"fail"``.
        critical: Whether the check's failure makes the process not ready.
        duration: How long the check ran, in seconds (0 when it did not run).
        error: What failed: the exception it raised (a `HookTimeout` when it ran
            out of time), or ``None``.
        reason: Why it failed, in words, when there is no exception (it returned
            ``False``, or its resource never started); else ``None``.
        observed: What the check returned, if it returned a number or a string.
        time: When it ran (seconds since the epoch).
        service_type: The service type of the run it checked.
        environment: The environment of the run it checked.
    """

    __slots__ = (
        "critical",
        "duration",
        "environment",
        "error",
        "name",
        "observed",
        "reason",
        "service_type",
        "status",
        "time",
    )

    def __init__(
        self,
        name: str,
        status: CheckStatus,
        critical: bool,
        duration: float,
        time: float,
        service_type: str,
        environment: str,
        error: BaseException | None = None,
        reason: str | None = None,
        observed: float | str | None = None,
    ) -> None:
        self.name = name
        self.status: CheckStatus = status
        self.critical = critical
        self.duration = duration
        self.time = time
        self.service_type = service_type
        self.environment = environment
        self.error = error
        self.reason = reason
        self.observed = observed

    @property
    def ok(self) -> bool:
        """Whether the check passed."""
        return self.status == "pass"

    @property
    def output(self) -> str | None:
        """What went wrong, in one line (shown only where details are allowed)."""
        if self.error is not None:
            return f"{type(self.error).__name__}: {self.error}"
        return self.reason

    def __repr__(self) -> str:
        return (
            f"CheckResult(name={self.name!r}, status={self.status!r}, "
            f"duration={self.duration:.6f}, output={self.output!r})"
        )


class LifecycleListener:
    """Told what a lifespan does: subclass it and override the events you need.

    Register with `Lifespan.add_listener`. Every method is called on the event
    loop that runs the lifespan, so it must be quick and must not block; one that
    raises is logged and otherwise ignored. A method left as it is here is never
    called, so a listener costs only what it overrides.
    """

    def phase_started(self, phase: Phase, service_type: str, environment: str) -> None:
        """A phase (startup, shutdown or rollback) of a run begins."""

    def hook_finished(self, result: HookResult) -> None:
        """A hook ran in a phase (its `HookResult.started` is relative to the phase's start)."""

    def phase_finished(self, report: LifecycleReport) -> None:
        """A phase ended; for a failed startup, before its rollback begins."""

    def state_changed(self, service_type: str, environment: str, state: LifecycleState) -> None:
        """A run's `LifecycleState` changed."""

    def check_finished(self, result: CheckResult) -> None:
        """A health check ran (not called for an answer served from the cache)."""


_EVENTS = ("phase_started", "hook_finished", "phase_finished", "state_changed", "check_finished")


class Listeners:
    """The registered listeners, as one tuple of callables per event (empty when none).

    Attributes:
        phase_started: Called at the start of each phase.
        hook_finished: Called with each `HookResult`.
        phase_finished: Called with each phase's `LifecycleReport`.
        state_changed: Called on each state change.
        check_finished: Called with each `CheckResult`.
        registered: The listeners as they were added.
    """

    __slots__ = (
        "check_finished",
        "hook_finished",
        "phase_finished",
        "phase_started",
        "registered",
        "state_changed",
    )

    def __init__(self, registered: Iterable[Any] = ()) -> None:
        self.registered: tuple[Any, ...] = tuple(registered)
        events: dict[str, list[Callable[..., Any]]] = {event: [] for event in _EVENTS}
        for listener in self.registered:
            if isinstance(listener, LifecycleListener):
                for event in _EVENTS:
                    if getattr(type(listener), event) is not getattr(LifecycleListener, event):
                        events[event].append(getattr(listener, event))
            else:
                events["hook_finished"].append(listener)
        self.phase_started = tuple(events["phase_started"])
        self.hook_finished = tuple(events["hook_finished"])
        self.phase_finished = tuple(events["phase_finished"])
        self.state_changed = tuple(events["state_changed"])
        self.check_finished = tuple(events["check_finished"])


def notify(callbacks: tuple[Callable[..., Any], ...], *args: Any) -> None:
    """Call each callback with ``args``; one that raises is logged and otherwise ignored."""
    for callback in callbacks:
        try:
            callback(*args)
        except Exception:
            logger.exception("listener %r failed", callback)
