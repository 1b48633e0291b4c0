"""Prometheus metrics in multiprocess mode under gunicorn with two workers (see conftest.py)."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from .conftest import MetricsRecord

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
HIST = "asgi_lifecycle_hook_duration_seconds_count"
START = {"phase": "startup", "service_type": "web", "outcome": "ok"}
STOP = {"phase": "shutdown", "service_type": "web", "outcome": "ok"}


def parse(text: str) -> Samples:
    """Each sample's value by its name and labels (the ``pid`` label of 'all' gauges too)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; fails (KeyError) when the exposition lacks that series."""
    return samples[(name, frozenset(labels.items()))]


def test_live_scrape_adds_up_both_workers(multiprocess_metrics: MetricsRecord) -> None:
    """One worker's /metrics counts the startups of both, and both workers as ready."""
    run = multiprocess_metrics
    live = parse(run.live)

    assert value(live, "asgi_lifecycle_state", service_type="web", state="ready") == 2, run.record
    assert value(live, "asgi_lifecycle_state", service_type="web", state="starting") == 0
    assert value(live, "asgi_lifecycle_ready", service_type="web") == 2
    assert value(live, HIST, hook="database", action="setup", **START) == 2
    assert value(live, HIST, hook="warm_cache", action="start", **START) == 2
    phase = "asgi_lifecycle_phase_duration_seconds_count"
    assert value(live, phase, phase="startup", service_type="web", outcome="ok") == 2


def test_after_the_stop_the_files_hold_both_shutdowns(multiprocess_metrics: MetricsRecord) -> None:
    """After SIGTERM the counts hold both workers' shutdowns; the exited workers' gauges left."""
    run = multiprocess_metrics
    after = parse(run.after)

    assert run.record.exit_status in {0, -signal.SIGTERM}, run.record
    assert value(after, HIST, hook="database", action="setup", **START) == 2
    assert value(after, HIST, hook="database", action="teardown", **STOP) == 2
    phase = "asgi_lifecycle_phase_duration_seconds_count"
    assert value(after, phase, phase="shutdown", service_type="web", outcome="ok") == 2
    # gunicorn's child_exit marked each worker dead: no live gauge counts them any more.
    gauges = [key for key in after if key[0] in ("asgi_lifecycle_state", "asgi_lifecycle_ready")]
    assert gauges == [], run.after
