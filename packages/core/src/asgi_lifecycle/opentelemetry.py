"""OpenTelemetry traces of the lifecycle, through ``opentelemetry-api``.

Install the extra (``pip install "asgi-lifecycle[opentelemetry]"``) and add one
listener, the same line in every process::

    from asgi_lifecycle import lifespan
    from asgi_lifecycle.opentelemetry import OpenTelemetryListener

    lifespan.add_listener(OpenTelemetryListener())

Each startup, shutdown and rollback is a span, with a child span per hook. The
hooks' spans carry the times the runner measured, so the hooks of a concurrent
phase show as overlapping siblings and a trace viewer shows the startup's
critical path. No exporter is configured here: the application's OpenTelemetry
setup (its tracer provider) decides where the spans go; without one they are
dropped at no cost.

Only this module imports ``opentelemetry``: ``import asgi_lifecycle`` does not.
"""

from __future__ import annotations

import threading
import time

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanContext, Status, StatusCode, TracerProvider

from ._events import LifecycleListener
from ._report import HookResult, LifecycleReport, Phase

__all__ = ("ATTRIBUTE_PREFIX", "OpenTelemetryListener")

ATTRIBUTE_PREFIX = "asgi_lifecycle."
"""The prefix of the attributes this listener sets on its spans."""

_NOT_OK = frozenset(("failed", "timed_out", "cancelled"))


def _version() -> str:
    from . import __version__  # the package's top, imported when this module is

    return __version__


class _Open:
    """A phase span in progress: the span, and its start on the wall clock (ns)."""

    __slots__ = ("span", "start")

    def __init__(self, span: Span, start: int) -> None:
        self.span = span
        self.start = start


def _phase_failed(report: LifecycleReport) -> bool:
    """Whether a phase failed: a startup that did not complete, a stop with any hook failing."""
    if report.ok:
        return False
    if report.phase != "startup":
        return True
    # A non-critical hook's failure leaves the startup complete; a critical one stops it,
    # and a stop from outside cancels a hook or leaves some skipped.
    return any(
        result.outcome in ("cancelled", "skipped")
        or (result.outcome in ("failed", "timed_out") and result.hook.critical)
        for result in report.results
    )


class OpenTelemetryListener(LifecycleListener):
    """Traces every startup, shutdown and rollback, with a child span per hook.

    Register it with `Lifespan.add_listener`. The spans:

    - ``startup <service type>``, ``shutdown <service type>``, ``rollback <service
      type>``: one per phase, a child of the span current when the phase began (if
      any). A rollback is a child of the startup it undoes; a shutdown links to
      the startup of its run. Attributes ``asgi_lifecycle.phase``,
      ``.service_type``, ``.environment``, ``.hooks`` (how many were due),
      ``.concurrent``, ``.outcome`` (``ok`` or ``failed``); status error when the
      phase failed (a startup that did not complete; a shutdown or rollback with
      a failed hook).
    - ``<action> <hook name>`` (e.g. ``setup database``): one per hook run, a child
      of its phase, from the hook's start to its end as the runner measured them.
      Attributes ``asgi_lifecycle.hook``, ``.action``, ``.phase``,
      ``.service_type``, ``.environment``, ``.outcome``, ``.critical``; when it
      failed, timed out or was cancelled, status error and its exception recorded.

    Args:
        tracer_provider: The tracer provider to get the tracer from; ``None`` for
            the global one (``opentelemetry.trace.set_tracer_provider``), looked up
            when a span starts, so it may be set after this listener is made.
    """

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        if tracer_provider is not None and not isinstance(tracer_provider, TracerProvider):
            raise TypeError(
                f"OpenTelemetryListener(tracer_provider={tracer_provider!r}): pass an "
                f"opentelemetry.trace.TracerProvider, or None for the global one"
            )
        self.tracer = trace.get_tracer(
            "asgi_lifecycle", _version(), tracer_provider=tracer_provider
        )
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str], _Open] = {}
        self._startups: dict[tuple[str, str], SpanContext] = {}  # the last startup of each run

    def __repr__(self) -> str:
        return "OpenTelemetryListener()"

    def phase_started(self, phase: Phase, service_type: str, environment: str) -> None:
        """Start the phase's span."""
        key = (service_type, environment)
        with self._lock:
            startup = self._startups.get(key)
        context = None
        links: list[Link] = []
        if phase == "rollback" and startup is not None:
            context = trace.set_span_in_context(trace.NonRecordingSpan(startup))
        elif phase == "shutdown" and startup is not None:
            links.append(Link(startup))
        start = time.time_ns()
        span = self.tracer.start_span(
            f"{phase} {service_type}",
            context=context,
            links=links,
            start_time=start,
            attributes={
                ATTRIBUTE_PREFIX + "phase": phase,
                ATTRIBUTE_PREFIX + "service_type": service_type,
                ATTRIBUTE_PREFIX + "environment": environment,
            },
        )
        with self._lock:
            self._open[key] = _Open(span, start)
            if phase == "startup":
                self._startups[key] = span.get_span_context()

    def hook_finished(self, result: HookResult) -> None:
        """Record the hook's span, a child of its phase's, at the times the hook ran."""
        with self._lock:
            phase = self._open.get((result.service_type, result.environment))
        if phase is None:
            return  # the listener was added while the phase ran
        start = phase.start + int(result.started * 1e9)
        end = start + int(result.duration * 1e9)
        hook = result.hook
        span = self.tracer.start_span(
            f"{result.action} {hook.name}",
            context=trace.set_span_in_context(phase.span),
            start_time=start,
            attributes={
                ATTRIBUTE_PREFIX + "hook": hook.name,
                ATTRIBUTE_PREFIX + "action": result.action,
                ATTRIBUTE_PREFIX + "phase": result.phase,
                ATTRIBUTE_PREFIX + "service_type": result.service_type,
                ATTRIBUTE_PREFIX + "environment": result.environment,
                ATTRIBUTE_PREFIX + "outcome": result.outcome,
                ATTRIBUTE_PREFIX + "critical": hook.critical,
            },
        )
        if result.outcome in _NOT_OK:
            error = result.error
            if error is not None:
                span.record_exception(error, timestamp=end)
                description = f"{result.outcome}: {type(error).__name__}: {error}"
            else:
                description = result.outcome
            span.set_status(Status(StatusCode.ERROR, description))
        span.end(end_time=end)

    def phase_finished(self, report: LifecycleReport) -> None:
        """End the phase's span, with its outcome."""
        key = (report.service_type, report.environment)
        with self._lock:
            phase = self._open.pop(key, None)
        if phase is None:
            return
        span = phase.span
        failed = _phase_failed(report)
        span.set_attributes(
            {
                ATTRIBUTE_PREFIX + "hooks": len(report.results),
                ATTRIBUTE_PREFIX + "concurrent": report.concurrent,
                ATTRIBUTE_PREFIX + "outcome": "failed" if failed else "ok",
            }
        )
        if failed:
            names = ", ".join(f"{r.hook.name} {r.outcome}" for r in report.failures)
            description = f"{report.phase} failed: {names or 'stopped between hooks'}"
            span.set_status(Status(StatusCode.ERROR, description))
        span.end(end_time=max(time.time_ns(), phase.start))
