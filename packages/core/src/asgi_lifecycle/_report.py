"""Immutable records of what a run did: one `HookResult` per hook run, one report per phase."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from ._hook import Hook

__all__ = ("Action", "HookResult", "LifecycleReport", "Outcome", "Phase", "Record")

Action = Literal["start", "setup", "stop", "teardown"]
Outcome = Literal["ok", "failed", "timed_out", "cancelled", "skipped"]
Phase = Literal["startup", "shutdown", "rollback"]

# What the runner keeps per hook run: outcome, start (s after the phase began), duration,
# error. The `HookResult` objects are made from these only when somebody looks.
Record = tuple[Outcome, float, float, BaseException | None]

_NOT_OK = frozenset(("failed", "timed_out", "cancelled"))
_SKIPPED: Record = ("skipped", 0.0, 0.0, None)


def action_of(hook: Hook, phase: Phase) -> Action:
    """The action a phase runs for a hook: start or setup at startup, stop or teardown after."""
    if phase == "startup":
        return "setup" if hook.kind == "resource" else "start"
    return "teardown" if hook.kind == "resource" else "stop"


class HookResult:
    """One run of one hook.

    Attributes:
        hook: The hook that ran.
        action: ``"start"`` (start hook), ``"setup"`` (resource before its yield),
            ``"stop"`` (shutdown hook) or ``"teardown"`` (resource after its yield).
        outcome: ``"ok"``, ``"failed"``, ``"timed_out"``, ``"cancelled"`` (stopped
            because another hook of a concurrent phase failed, or the startup was
            stopped from outside) or ``"skipped"`` (never started, because startup
            had already failed).
        started: When it started, in seconds after the phase began.
        duration: How long it ran, in seconds.
        error: The exception it raised (a `HookTimeout` when it timed out).
        phase: The phase it ran in: ``"startup"``, ``"shutdown"`` or ``"rollback"``
            (the undoing of a failed startup).
        service_type: The service type of its run.
        environment: The environment of its run.
    """

    __slots__ = (
        "action",
        "duration",
        "environment",
        "error",
        "hook",
        "outcome",
        "phase",
        "service_type",
        "started",
    )

    hook: Hook
    action: Action
    outcome: Outcome
    started: float
    duration: float
    error: BaseException | None
    phase: Phase
    service_type: str
    environment: str

    def __init__(
        self,
        hook: Hook,
        action: Action,
        outcome: Outcome,
        started: float,
        duration: float,
        error: BaseException | None = None,
        phase: Phase = "startup",
        service_type: str = "",
        environment: str = "",
    ) -> None:
        for name, value in (
            ("hook", hook),
            ("action", action),
            ("outcome", outcome),
            ("started", started),
            ("duration", duration),
            ("error", error),
            ("phase", phase),
            ("service_type", service_type),
            ("environment", environment),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"HookResult is immutable: cannot set {name!r}")

    @property
    def ok(self) -> bool:
        """Whether the hook ran and succeeded."""
        return self.outcome == "ok"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HookResult):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __hash__(self) -> int:
        return hash((self.hook.name, self.action, self.outcome, self.phase))

    def __repr__(self) -> str:
        return (
            f"HookResult(hook={self.hook!r}, action={self.action!r}, outcome={self.outcome!r}, "
            f"phase={self.phase!r}, started={self.started:.6f}, duration={self.duration:.6f}, "
            f"error={self.error!r})"
        )

    def __str__(self) -> str:
        line = (
            f"{self.hook.name:<40} {self.action:<8} {self.outcome:<9} "
            f"{self.duration * 1000:9.1f} ms"
        )
        if self.error is not None:
            line += f"  {type(self.error).__name__}: {self.error}"
        return line


class LifecycleReport:
    """What one phase (startup, shutdown or a rollback) of one run did.

    ``str(report)`` reads well in a log: a title line, then one line per hook
    with its name, action, outcome and duration.

    Attributes:
        phase: ``"startup"``, ``"shutdown"`` or ``"rollback"``.
        service_type: The run's service type.
        environment: The run's environment.
        results: One `HookResult` per hook, in the order they were scheduled.
        duration: How long the phase took, in seconds.
        concurrent: Whether hooks of one priority ran concurrently.
    """

    __slots__ = (
        "_due",
        "_failed",
        "_records",
        "_results",
        "concurrent",
        "duration",
        "environment",
        "phase",
        "service_type",
    )

    phase: Phase
    service_type: str
    environment: str
    duration: float
    concurrent: bool
    _results: tuple[HookResult, ...] | None
    _due: Sequence[Hook]
    _records: dict[Hook, Record]
    _failed: int

    def __init__(
        self,
        phase: Phase,
        service_type: str,
        environment: str,
        results: Sequence[HookResult],
        duration: float,
        concurrent: bool = False,
    ) -> None:
        self._init(phase, service_type, environment, duration, concurrent)
        results = tuple(results)
        object.__setattr__(self, "_results", results)
        object.__setattr__(self, "_due", ())
        object.__setattr__(self, "_records", {})
        object.__setattr__(self, "_failed", sum(1 for r in results if r.outcome in _NOT_OK))

    def _init(
        self, phase: Phase, service_type: str, environment: str, duration: float, concurrent: bool
    ) -> None:
        object.__setattr__(self, "phase", phase)
        object.__setattr__(self, "service_type", service_type)
        object.__setattr__(self, "environment", environment)
        object.__setattr__(self, "duration", duration)
        object.__setattr__(self, "concurrent", concurrent)

    @classmethod
    def from_records(
        cls,
        phase: Phase,
        service_type: str,
        environment: str,
        due: Sequence[Hook],
        records: dict[Hook, Record],
        failed: int,
        duration: float,
        concurrent: bool,
    ) -> LifecycleReport:
        """Build a report from the runner's records; the `HookResult` objects come on demand.

        Args:
            phase: The phase.
            service_type: The run's service type.
            environment: The run's environment.
            due: The hooks the phase was to run, in scheduled order.
            records: What each hook that ran did; a due hook without one was skipped.
            failed: How many of the records failed, timed out or were cancelled.
            duration: How long the phase took, in seconds.
            concurrent: Whether hooks of one priority ran concurrently.
        """
        report = object.__new__(cls)
        report._init(phase, service_type, environment, duration, concurrent)
        object.__setattr__(report, "_results", None)
        object.__setattr__(report, "_due", due)
        object.__setattr__(report, "_records", records)
        object.__setattr__(report, "_failed", failed)
        return report

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"LifecycleReport is immutable: cannot set {name!r}")

    @property
    def results(self) -> tuple[HookResult, ...]:
        """One `HookResult` per hook, in the order they were scheduled."""
        results: tuple[HookResult, ...] | None = self._results
        if results is None:
            phase, service_type, environment = self.phase, self.service_type, self.environment
            records = self._records
            made = []
            for hook in self._due:
                record: Record = records.get(hook) or _SKIPPED
                outcome, started, duration, error = record
                made.append(
                    HookResult(
                        hook,
                        action_of(hook, phase),
                        outcome,
                        started,
                        duration,
                        error,
                        phase,
                        service_type,
                        environment,
                    )
                )
            results = tuple(made)
            object.__setattr__(self, "_results", results)
        return results

    @property
    def ok(self) -> bool:
        """Whether every hook that was due succeeded."""
        if self._results is None:
            return self._failed == 0 and len(self._records) == len(self._due)
        return all(result.ok for result in self._results)

    @property
    def failures(self) -> tuple[HookResult, ...]:
        """The results that failed, timed out, or were cancelled."""
        if self._results is None and self._failed == 0:
            return ()
        return tuple(r for r in self.results if r.outcome in _NOT_OK)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LifecycleReport):
            return NotImplemented
        return (
            self.phase == other.phase
            and self.service_type == other.service_type
            and self.environment == other.environment
            and self.duration == other.duration
            and self.concurrent == other.concurrent
            and self.results == other.results
        )

    def __hash__(self) -> int:
        return hash((self.phase, self.service_type, self.environment, self.duration))

    def __repr__(self) -> str:
        return (
            f"LifecycleReport(phase={self.phase!r}, service_type={self.service_type!r}, "
            f"environment={self.environment!r}, results=<{len(self.results)} results>, "
            f"duration={self.duration:.6f}, concurrent={self.concurrent!r})"
        )

    def __str__(self) -> str:
        results = self.results
        failures = self.failures
        status = "ok" if self.ok else f"{len(failures)} failed"
        lines = [
            f"{self.phase} of {self.service_type!r} ({self.environment}): "
            f"{len(results)} hook{'' if len(results) == 1 else 's'}, {status}, "
            f"{self.duration * 1000:.1f} ms"
        ]
        lines.extend(f"  {result}" for result in results)
        return "\n".join(lines)
