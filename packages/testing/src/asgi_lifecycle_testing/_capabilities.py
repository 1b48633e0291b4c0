"""What an adapter can do beyond the core promise: `Capabilities`."""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ("Capabilities",)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Optional abilities of an adapter; contract tests marked ``requires(name)`` need them.

    Return one from the ``capabilities`` fixture of your contract subclass. A test
    whose capability is ``False`` is skipped, with the reason in the report.
    """

    # The unit of work (a request handler, a task) can read the run's state: the
    # values resources yield and hooks put in ``context.state``.
    state_in_work: bool = True
    # The unit of work is handed the `LifespanContext` itself (a dependency, a task
    # argument), so `Observation.context` is set.
    context_in_work: bool = False
    # The framework reports a failed shutdown natively (ASGI:
    # ``lifespan.shutdown.failed``) and the harness raises `NativeShutdownFailure`.
    reports_shutdown_failure: bool = True
    # Two instances of the framework can run at once in one process, so that a
    # second start of a run that is already running can be tested.
    overlapping_runs: bool = True
    # The adapter serves health probes (the core's `HealthEndpoint`: readiness and
    # liveness), configured with `Settings.health_token`, and the harness's
    # `Running` answers them through ``health(probe, authorization=...)``.
    health_endpoint: bool = True
    # A stop requested during the startup (what a SIGTERM does, through
    # `Lifespan.request_stop`) reaches the run where the framework's startup runs it.
    stop_during_startup: bool = True

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Return the name of every capability."""
        return tuple(f.name for f in fields(cls))
