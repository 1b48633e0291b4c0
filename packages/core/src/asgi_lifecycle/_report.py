"""Immutable records of what a run did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._hooks import Hook

__all__ = ("Action", "HookResult", "LifecycleReport", "Outcome", "Phase")

Action = Literal["start", "setup", "stop", "teardown"]
Outcome = Literal["ok", "failed", "timed_out", "cancelled", "skipped"]
Phase = Literal["startup", "shutdown", "rollback"]


@dataclass(frozen=True, slots=True)
class HookResult:
    """One run of one hook.

    Attributes:
        hook: The hook that ran.
        action: ``"start"`` (start hook), ``"setup"`` (resource before its yield),
            ``"stop"`` (shutdown hook) or ``"teardown"`` (resource after its yield).
        outcome: ``"ok"``, ``"failed"``, ``"timed_out"``, ``"cancelled"`` (stopped
            because another hook of a concurrent phase failed) or ``"skipped"``
            (never started, because startup had already failed).
        started: When it started, in seconds after the phase began.
        duration: How long it ran, in seconds.
        error: The exception it raised (a `HookTimeout` when it timed out).
    """

    hook: Hook
    action: Action
    outcome: Outcome
    started: float
    duration: float
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """Whether the hook ran and succeeded."""
        return self.outcome == "ok"

    def __str__(self) -> str:
        line = (
            f"{self.hook.name:<40} {self.action:<8} {self.outcome:<9} "
            f"{self.duration * 1000:9.1f} ms"
        )
        if self.error is not None:
            line += f"  {type(self.error).__name__}: {self.error}"
        return line


@dataclass(frozen=True, slots=True)
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

    phase: Phase
    service_type: str
    environment: str
    results: tuple[HookResult, ...]
    duration: float
    concurrent: bool = False

    @property
    def ok(self) -> bool:
        """Whether every hook that was due succeeded."""
        return all(result.ok for result in self.results)

    @property
    def failures(self) -> tuple[HookResult, ...]:
        """The results that failed, timed out, or were cancelled."""
        return tuple(r for r in self.results if r.outcome not in ("ok", "skipped"))

    def __str__(self) -> str:
        status = "ok" if self.ok else f"{len(self.failures)} failed"
        lines = [
            f"{self.phase} of {self.service_type!r} ({self.environment}): "
            f"{len(self.results)} hook{'' if len(self.results) == 1 else 's'}, {status}, "
            f"{self.duration * 1000:.1f} ms"
        ]
        lines.extend(f"  {result}" for result in self.results)
        return "\n".join(lines)
