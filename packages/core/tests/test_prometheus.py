from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from asgi_lifecycle import Lifespan, LifespanContext, StartupFailed
from asgi_lifecycle.prometheus import PrometheusListener

pytestmark = pytest.mark.anyio

APP = LifespanContext("app", "test")


def scrape(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """The registry's exposition, parsed: each sample's value by its name and labels."""
    text = generate_latest(registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """One sample's value; fails (KeyError) when the exposition lacks that series."""
    return samples[(name, frozenset(labels.items()))]


def build(lp: Lifespan, flag: dict[str, bool]) -> None:
    """A resource, a slow start hook, a non-critical one that fails and one that times out."""

    @lp.resource(name="database")
    async def database() -> AsyncIterator[str]:
        yield "db"

    @lp.on_start(name="warm_cache")
    async def warm_cache() -> None:
        await asyncio.sleep(0.05)

    @lp.on_start(name="optional_feed", critical=False)
    def optional_feed() -> None:
        raise RuntimeError("the feed is down")

    @lp.on_start(name="slow_index", critical=False, timeout=0.05)
    async def slow_index() -> None:
        await asyncio.sleep(5)

    @lp.health_check(name="upstream")
    def upstream() -> bool:
        return flag["up"]


async def test_metrics_of_a_real_startup_and_shutdown(lp: Lifespan) -> None:
    """A scrape after a startup and a shutdown shows each hook, phase, state and readiness."""
    registry = CollectorRegistry()
    lp.add_listener(PrometheusListener(registry))
    lp.configure(health_ttl=0)
    flag = {"up": True}
    build(lp, flag)

    await lp.startup(APP)
    await lp.health("app", "test")
    ready = scrape(registry)
    flag["up"] = False
    await lp.health("app", "test")
    unready = scrape(registry)
    await lp.shutdown(APP)
    stopped = scrape(registry)

    start = {"phase": "startup", "service_type": "app"}
    hist = "asgi_lifecycle_hook_duration_seconds"
    db = value(ready, f"{hist}_count", hook="database", action="setup", outcome="ok", **start)
    assert db == 1
    warm = value(ready, f"{hist}_sum", hook="warm_cache", action="start", outcome="ok", **start)
    assert 0.04 < warm < 5
    feed = {"hook": "optional_feed", "action": "start", **start}
    assert value(ready, f"{hist}_count", outcome="failed", **feed) == 1
    assert value(ready, "asgi_lifecycle_hook_failures_total", **feed) == 1
    assert value(ready, "asgi_lifecycle_hook_timeouts_total", **feed) == 0
    index = {"hook": "slow_index", "action": "start", **start}
    assert value(ready, f"{hist}_count", outcome="timed_out", **index) == 1
    assert value(ready, "asgi_lifecycle_hook_failures_total", **index) == 1
    assert value(ready, "asgi_lifecycle_hook_timeouts_total", **index) == 1
    ok_hook = {"hook": "database", "action": "setup", **start}
    assert value(ready, "asgi_lifecycle_hook_failures_total", **ok_hook) == 0  # present, at 0
    # Non-critical failures leave the startup complete: its outcome is ok.
    phase = "asgi_lifecycle_phase_duration_seconds"
    assert value(ready, f"{phase}_count", outcome="ok", **start) == 1
    assert value(ready, f"{phase}_sum", outcome="ok", **start) >= warm
    states = {s: value(ready, "asgi_lifecycle_state", service_type="app", state=s) for s in (
        "starting", "ready", "draining", "stopped", "failed"
    )}  # fmt: skip
    assert states == {"starting": 0, "ready": 1, "draining": 0, "stopped": 0, "failed": 0}
    assert value(ready, "asgi_lifecycle_ready", service_type="app") == 1
    check = "asgi_lifecycle_check_duration_seconds_count"
    assert value(ready, check, check="upstream", service_type="app", status="pass") == 1

    # The critical check fails: still in state ready, but not ready.
    assert value(unready, "asgi_lifecycle_state", service_type="app", state="ready") == 1
    assert value(unready, "asgi_lifecycle_ready", service_type="app") == 0
    assert value(unready, check, check="upstream", service_type="app", status="fail") == 1

    stop = {"phase": "shutdown", "service_type": "app"}
    assert (
        value(stopped, f"{hist}_count", hook="database", action="teardown", outcome="ok", **stop)
        == 1
    )
    assert value(stopped, f"{phase}_count", outcome="ok", **stop) == 1
    assert value(stopped, "asgi_lifecycle_state", service_type="app", state="stopped") == 1
    assert value(stopped, "asgi_lifecycle_state", service_type="app", state="ready") == 0
    assert value(stopped, "asgi_lifecycle_ready", service_type="app") == 0


async def test_failed_startup_counts_as_failed_and_rolls_back(lp: Lifespan) -> None:
    """A critical hook's failure shows as a failed startup, a rollback and state failed."""
    registry = CollectorRegistry()
    lp.add_listener(PrometheusListener(registry))

    @lp.resource(name="database")
    async def database() -> AsyncIterator[None]:
        yield

    @lp.on_start(name="migrations")
    def migrations() -> None:
        raise RuntimeError("schema is too new")

    with pytest.raises(StartupFailed):
        await lp.startup(APP)
    samples = scrape(registry)

    phase = "asgi_lifecycle_phase_duration_seconds_count"
    assert value(samples, phase, phase="startup", service_type="app", outcome="failed") == 1
    assert value(samples, phase, phase="rollback", service_type="app", outcome="ok") == 1
    labels = {"hook": "migrations", "action": "start", "phase": "startup", "service_type": "app"}
    assert value(samples, "asgi_lifecycle_hook_failures_total", **labels) == 1
    rollback = {
        "hook": "database",
        "action": "teardown",
        "phase": "rollback",
        "service_type": "app",
    }
    assert (
        value(samples, "asgi_lifecycle_hook_duration_seconds_count", outcome="ok", **rollback) == 1
    )
    assert value(samples, "asgi_lifecycle_state", service_type="app", state="failed") == 1
    assert value(samples, "asgi_lifecycle_ready", service_type="app") == 0


async def test_listeners_of_one_registry_share_their_metrics() -> None:
    """Two lifespans, each with a listener on one registry, add to the same metrics."""
    registry = CollectorRegistry()
    first, second = Lifespan(), Lifespan()
    for lp in (first, second):
        lp.add_listener(PrometheusListener(registry, namespace="shop"))

        @lp.on_start(name="hello")
        def hello() -> None:
            pass

    await first.startup(LifespanContext("api", "test"))
    await second.startup(LifespanContext("worker", "test"))
    samples = scrape(registry)
    await first.shutdown(LifespanContext("api", "test"))
    await second.shutdown(LifespanContext("worker", "test"))

    for service_type in ("api", "worker"):
        labels = {"hook": "hello", "action": "start", "phase": "startup", "outcome": "ok"}
        count = value(
            samples, "shop_hook_duration_seconds_count", service_type=service_type, **labels
        )
        assert count == 1
        assert value(samples, "shop_state", service_type=service_type, state="ready") == 1


def test_bad_namespace_and_registry_are_named() -> None:
    """A namespace that is no metric prefix, or a registry that is none, is a clear error."""
    with pytest.raises(ValueError, match=r"namespace='my-app'.*letters, digits"):
        PrometheusListener(CollectorRegistry(), namespace="my-app")
    with pytest.raises(TypeError, match=r"prometheus_client\.CollectorRegistry"):
        PrometheusListener("default")  # type: ignore[arg-type]


def test_a_name_clash_with_another_collector_is_named() -> None:
    """Metric names another collector registered already make a clear error, with the fix."""
    registry = CollectorRegistry()
    Counter("clash_hook_failures", "someone else's", registry=registry)
    with pytest.raises(ValueError, match=r"namespace 'clash'.*another namespace"):
        PrometheusListener(registry, namespace="clash")


async def test_the_listener_logs_no_error_in_a_run(
    lp: Lifespan, caplog: pytest.LogCaptureFixture
) -> None:
    """A run with the listener logs no listener error: none of its events raises."""
    registry = CollectorRegistry()
    lp.add_listener(PrometheusListener(registry))
    ran: list[str] = []

    @lp.on_start(name="one")
    def one() -> None:
        ran.append("one")

    with caplog.at_level(logging.ERROR, "asgi_lifecycle"):
        async with lp.run(APP):
            pass

    assert ran == ["one"]
    assert not [r for r in caplog.records if "listener" in r.getMessage()]
