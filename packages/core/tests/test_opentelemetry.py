from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from asgi_lifecycle import Lifespan, LifespanContext, StartupFailed
from asgi_lifecycle.opentelemetry import OpenTelemetryListener

pytestmark = pytest.mark.anyio

APP = LifespanContext("app", "test")


def tracing(lp: Lifespan) -> InMemorySpanExporter:
    """Add a listener with a tracer provider of the test's own; return where its spans go."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    lp.add_listener(OpenTelemetryListener(tracer_provider=provider))
    return exporter


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    spans = exporter.get_finished_spans()
    named = {span.name: span for span in spans}
    assert len(named) == len(spans), [span.name for span in spans]
    return named


def times(span: ReadableSpan) -> tuple[int, int]:
    assert span.start_time is not None
    assert span.end_time is not None
    return span.start_time, span.end_time


async def test_startup_is_a_span_with_a_child_per_hook_overlapping_when_concurrent() -> None:
    """Concurrent hooks are overlapping children of the startup span; a dependent follows."""
    lp = Lifespan(concurrent=True)
    exporter = tracing(lp)

    @lp.resource(name="database")
    async def database() -> AsyncIterator[None]:
        await asyncio.sleep(0.1)
        yield

    @lp.on_start(name="cache")
    async def cache() -> None:
        await asyncio.sleep(0.1)

    @lp.on_start(name="migrations", after="database")
    async def migrations() -> None:
        await asyncio.sleep(0.02)

    async with lp.run(APP):
        pass
    spans = by_name(exporter)

    startup = spans["startup app"]
    assert startup.parent is None
    assert startup.attributes is not None
    assert startup.attributes["asgi_lifecycle.outcome"] == "ok"
    assert startup.attributes["asgi_lifecycle.concurrent"] is True
    assert startup.status.status_code is StatusCode.UNSET
    hooks = [spans["setup database"], spans["start cache"], spans["start migrations"]]
    for hook in hooks:
        assert hook.parent is not None
        assert hook.parent.span_id == startup.context.span_id
        assert hook.context.trace_id == startup.context.trace_id
        start, end = times(hook)
        assert times(startup)[0] <= start <= end <= times(startup)[1]
    (db_start, db_end), (cache_start, cache_end), (mig_start, _) = map(times, hooks)
    assert db_start < cache_end  # side by side: each began before the other ended
    assert cache_start < db_end
    assert mig_start >= db_end  # after= its dependency: on the critical path
    assert db_end - db_start >= 90_000_000  # the times the hooks ran, not when they were told
    attributes = spans["setup database"].attributes
    assert attributes is not None
    assert dict(attributes) == {
        "asgi_lifecycle.hook": "database",
        "asgi_lifecycle.action": "setup",
        "asgi_lifecycle.phase": "startup",
        "asgi_lifecycle.service_type": "app",
        "asgi_lifecycle.environment": "test",
        "asgi_lifecycle.outcome": "ok",
        "asgi_lifecycle.critical": True,
    }

    shutdown = spans["shutdown app"]
    assert [link.context.span_id for link in shutdown.links] == [startup.context.span_id]
    teardown = spans["teardown database"]
    assert teardown.parent is not None
    assert teardown.parent.span_id == shutdown.context.span_id
    assert times(teardown)[0] >= times(startup)[1]


async def test_a_failed_hook_records_its_exception_and_the_rollback_follows(lp: Lifespan) -> None:
    """A failing hook's span has status error and the exception; the rollback is a child."""
    exporter = tracing(lp)

    @lp.resource(name="database")
    async def database() -> AsyncIterator[None]:
        yield

    @lp.on_start(name="migrations")
    def migrations() -> None:
        raise RuntimeError("schema is too new")

    with pytest.raises(StartupFailed):
        await lp.startup(APP)
    spans = by_name(exporter)

    failed = spans["start migrations"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "failed: RuntimeError: schema is too new"
    assert failed.attributes is not None
    assert failed.attributes["asgi_lifecycle.outcome"] == "failed"
    (event,) = failed.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "RuntimeError"
    assert event.attributes["exception.message"] == "schema is too new"
    assert "raise RuntimeError" in str(event.attributes["exception.stacktrace"])
    startup = spans["startup app"]
    assert startup.status.status_code is StatusCode.ERROR
    assert "migrations failed" in (startup.status.description or "")
    assert spans["setup database"].status.status_code is StatusCode.UNSET
    rollback = spans["rollback app"]
    assert rollback.parent is not None
    assert rollback.parent.span_id == startup.context.span_id
    assert rollback.status.status_code is StatusCode.UNSET
    teardown = spans["teardown database"]
    assert teardown.parent is not None
    assert teardown.parent.span_id == rollback.context.span_id


async def test_a_non_critical_failure_leaves_the_startup_ok(lp: Lifespan) -> None:
    """A non-critical hook's failure is an error on its span, not on the startup's."""
    exporter = tracing(lp)

    @lp.on_start(name="feed", critical=False, timeout=0.05)
    async def feed() -> None:
        await asyncio.sleep(5)

    await lp.startup(APP)
    await lp.shutdown(APP)
    spans = by_name(exporter)

    assert spans["start feed"].status.status_code is StatusCode.ERROR
    assert (spans["start feed"].status.description or "").startswith("timed_out: HookTimeout")
    assert spans["startup app"].status.status_code is StatusCode.UNSET
    assert spans["startup app"].attributes is not None
    assert spans["startup app"].attributes["asgi_lifecycle.outcome"] == "ok"


def test_a_tracer_provider_that_is_not_one_is_named() -> None:
    """Something else than a tracer provider is a clear error."""
    with pytest.raises(TypeError, match=r"opentelemetry\.trace\.TracerProvider"):
        OpenTelemetryListener(tracer_provider="otlp")  # type: ignore[arg-type]
