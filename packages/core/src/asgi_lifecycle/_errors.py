"""The exceptions of asgi-lifecycle (above the hook model and the reports they carry)."""

from __future__ import annotations

from ._report import LifecycleReport

__all__ = (
    "ConfigurationError",
    "HookRegistrationError",
    "HookTimeout",
    "LifecycleError",
    "ShutdownFailed",
    "StartupFailed",
    "StopRequested",
)


class LifecycleError(Exception):
    """Base class of every error raised by asgi-lifecycle."""


class ConfigurationError(LifecycleError, ValueError):
    """The configuration (``[tool.asgi-lifecycle]``, ``ASGI_LIFECYCLE_*``) is wrong.

    Raised before any hook runs: an unknown key, a value of the wrong type, an
    environment variable that does not parse, a hook module that does not import.
    Each problem names the file and key, or the variable, and how to fix it.

    Attributes:
        problems: One message per problem found.
    """

    def __init__(self, problems: str | tuple[str, ...] | list[str]) -> None:
        found = (problems,) if isinstance(problems, str) else tuple(problems)
        if len(found) == 1:
            message = found[0]
        else:
            message = f"{len(found)} configuration problems:\n" + "\n".join(
                f"  - {problem}" for problem in found
            )
        super().__init__(message)
        self.problems: tuple[str, ...] = found


class HookRegistrationError(LifecycleError, TypeError):
    """A hook was registered wrongly.

    Raised at the moment of the mistake (registration, or the start of a run for
    problems that need every hook module imported, such as an unknown name in
    ``after=``). The message names the hook, where it was defined, and how to fix it.
    Nothing is registered when it is raised.
    """


class HookTimeout(LifecycleError, TimeoutError):
    """A hook, or the phase budget it ran in, ran out of time.

    Attributes:
        hook: The name of the hook that was running.
        timeout: The limit, in seconds, that was exceeded.
    """

    def __init__(
        self, hook: str, timeout: float, *, budget: bool = False, thread: bool = False
    ) -> None:
        what = "the phase budget" if budget else "its timeout"
        message = f"hook {hook!r} did not finish within {what} of {timeout:g} s"
        if thread:
            message += (
                "; it is a sync hook running in a thread, which cannot be interrupted, "
                "so the runner stopped waiting for it and the thread may still be running"
            )
        super().__init__(message)
        self.hook = hook
        self.timeout = timeout


class StopRequested(LifecycleError):
    """A stop signal (SIGTERM, SIGINT) arrived while the startup ran; it was rolled back.

    It is the `StartupFailed.error` of such a startup, and the error recorded for
    each hook it cancelled.

    Attributes:
        signal: The signal's name (``"SIGTERM"``).
    """

    def __init__(self, signal: str, *, thread: bool = False) -> None:
        message = f"{signal} arrived during the startup, which was stopped and rolled back"
        if thread:
            message += (
                "; this sync hook runs in a thread, which cannot be interrupted: the runner "
                "stopped waiting for it, and the thread may still be running"
            )
        super().__init__(message)
        self.signal = signal


class StartupFailed(LifecycleError):
    """A critical startup hook failed; everything that had started was rolled back.

    Attributes:
        hook: The name of the first hook that failed.
        error: The first error (the hook's exception, or a `HookTimeout`).
        report: The `LifecycleReport` of the startup, every hook with its outcome.
        rollback: The `LifecycleReport` of the rollback that followed.
    """

    def __init__(
        self,
        hook: str,
        error: BaseException,
        report: LifecycleReport,
        rollback: LifecycleReport,
    ) -> None:
        super().__init__(
            f"startup of {report.service_type!r} ({report.environment}) failed: "
            f"hook {hook!r} raised {type(error).__name__}: {error}"
        )
        self.hook = hook
        self.error = error
        self.report = report
        self.rollback = rollback


class ShutdownFailed(LifecycleError):
    """Hooks failed or timed out at shutdown; every other shutdown hook still ran.

    `Lifespan.shutdown` never raises it: it returns the report. Adapters raise it
    when their framework reports a failed shutdown through an exception (Starlette
    and Litestar then answer ``lifespan.shutdown.failed`` with its message).

    Attributes:
        report: The `LifecycleReport` of the shutdown.
    """

    def __init__(self, report: LifecycleReport) -> None:
        failures = "; ".join(
            f"{r.hook.name} {r.action} {r.outcome}: {type(r.error).__name__}: {r.error}"
            for r in report.failures
        )
        super().__init__(
            f"shutdown of {report.service_type!r} ({report.environment}): {failures} "
            f"(every other shutdown hook still ran)"
        )
        self.report = report
