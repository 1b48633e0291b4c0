"""P7: what the Prometheus and OpenTelemetry listeners add to a startup and shutdown.

The runner of P3 (no-op async resources, started then stopped) with no listener, with
`asgi_lifecycle.prometheus.PrometheusListener` and with
`asgi_lifecycle.opentelemetry.OpenTelemetryListener`, round by round in turn.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from time import perf_counter
from typing import Any

import bench_runner
from _harness import (
    Config,
    Measure,
    Peer,
    Row,
    Section,
    alternate,
    median,
    one,
    paired,
    ratios,
)

from asgi_lifecycle import Lifespan, LifespanContext

ID = "P7"
TITLE = "P7 - listener overhead per hook (startup + shutdown, Prometheus and OpenTelemetry)"
NEEDS_PEER = False

# A listener for one run, and what to do after it (outside the timing); (None, ...): none.
Listener = tuple[Any, Callable[[], None]]
Factory = Callable[[], Listener]


def _nothing() -> None:
    return None


def _none() -> Listener:
    return None, _nothing


def _ignore(result: Any) -> None:
    return None


def _empty() -> Listener:
    """A plain callable that ignores each hook's result: what the core's reporting costs."""
    return _ignore, _nothing


def _prometheus_factories() -> dict[str, Factory]:
    """A fresh registry for every run (a process's first run), and one kept across runs."""
    from prometheus_client import CollectorRegistry

    from asgi_lifecycle.prometheus import PrometheusListener

    def fresh() -> Listener:
        return PrometheusListener(registry=CollectorRegistry()), _nothing

    kept = CollectorRegistry()

    def warm() -> Listener:
        return PrometheusListener(registry=kept), _nothing

    return {"prometheus": fresh, "prometheus_warm": warm}


def _opentelemetry_factories() -> dict[str, Factory]:
    """An SDK tracer provider exporting to memory (cleared after each run), and the no-op one."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import NoOpTracerProvider

    from asgi_lifecycle.opentelemetry import OpenTelemetryListener

    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sdk = OpenTelemetryListener(tracer_provider=provider)
    noop = OpenTelemetryListener(tracer_provider=NoOpTracerProvider())
    return {"otel": lambda: (sdk, exporter.clear), "otel_noop": lambda: (noop, _nothing)}


CASES = {
    "none": ("no listener", "no listener (reference)"),
    "empty": (
        "a listener doing nothing (diagnostic)",
        "a listener doing nothing, a plain callable: the core's reporting (diagnostic)",
    ),
    "prometheus": ("PrometheusListener", "PrometheusListener, a fresh registry per run"),
    "prometheus_warm": (
        "PrometheusListener, series exist (diagnostic)",
        "PrometheusListener, its series already there from an earlier run (diagnostic)",
    ),
    "otel": (
        "OpenTelemetryListener (SDK)",
        "OpenTelemetryListener, SDK tracer provider, in-memory exporter",
    ),
    "otel_noop": (
        "OpenTelemetryListener, no-op (diagnostic)",
        "OpenTelemetryListener, the API's no-op tracer provider (diagnostic)",
    ),
}


def _factories() -> tuple[dict[str, Factory], dict[str, str]]:
    """The variants that can run here, and why the others cannot."""
    factories: dict[str, Factory] = {"none": _none, "empty": _empty}
    missing: dict[str, str] = {}
    groups = (
        (("prometheus", "prometheus_warm"), "prometheus-client", _prometheus_factories),
        (("otel", "otel_noop"), "opentelemetry-sdk", _opentelemetry_factories),
    )
    for names, distribution, group in groups:
        try:
            factories.update(group())
        except ImportError as exc:
            missing.update(dict.fromkeys(names, f"{distribution} is not installed ({exc})"))
    return factories, missing


async def _cycles(lifespan: Lifespan, n: int, cycles: int, factory: Factory) -> float:
    """Start and stop ``cycles`` times, a listener of its own each time; seconds per hook."""
    context = LifespanContext("app")
    total = 0.0
    for _ in range(cycles):
        listener, after = factory()
        if listener is not None:
            lifespan.add_listener(listener)
        start = perf_counter()
        await lifespan.startup(context)
        await lifespan.shutdown(context)
        total += perf_counter() - start
        if listener is not None:
            lifespan.remove_listener(listener)
        after()
    return total / (cycles * n)


async def _verify(factories: dict[str, Factory]) -> None:
    """Raise unless each listener records the hooks of a run: else its numbers mean nothing."""
    context = LifespanContext("app")
    if "prometheus" in factories:
        from prometheus_client import CollectorRegistry

        from asgi_lifecycle.prometheus import PrometheusListener

        registry = CollectorRegistry()
        lifespan = bench_runner._lifespan(2)
        lifespan.add_listener(PrometheusListener(registry=registry))
        await lifespan.startup(context)
        await lifespan.shutdown(context)
        observed = sum(
            sample.value
            for metric in registry.collect()
            for sample in metric.samples
            if sample.name == "asgi_lifecycle_hook_duration_seconds_count"
        )
        if observed != 4:
            raise RuntimeError(f"PrometheusListener observed {observed} hook runs of 4")
    if "otel" in factories:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from asgi_lifecycle.opentelemetry import OpenTelemetryListener

        exporter = InMemorySpanExporter()
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        lifespan = bench_runner._lifespan(2)
        lifespan.add_listener(OpenTelemetryListener(tracer_provider=provider))
        await lifespan.startup(context)
        await lifespan.shutdown(context)
        spans = len(exporter.get_finished_spans())
        if spans != 6:  # a startup and a shutdown span, and one per hook in each
            raise RuntimeError(f"OpenTelemetryListener exported {spans} spans of 6")


def run(cfg: Config, peer: Peer) -> Section:
    return asyncio.run(_run(cfg))


def _us(value: float) -> str:
    return f"{value * 1e6:,.2f} us"


async def _run(cfg: Config) -> Section:
    section = Section(ID, TITLE)
    sizes: tuple[int, ...] = cfg.pick((10, 100), (100, 10_000), (100, 10_000))
    per_round = cfg.pick(200, 2_000, 5_000)
    rounds = cfg.pick(2, 5, 7)
    factories, missing = _factories()
    await _verify(factories)
    chart: dict[str, dict[str, float]] = {}
    section.chart["us_per_hook"] = chart

    for n in sizes:
        cycles = max(1, per_round // n)
        variants: list[tuple[str, Measure]] = [
            one(
                name,
                functools.partial(_cycles, bench_runner._lifespan(n), n, cycles, factory),
            )
            for name, factory in factories.items()
        ]
        s = await alternate(rounds, variants)
        size = f"{n:,} hooks"
        chart[size] = {}
        none = median(s["none"])
        for name, (label, case) in CASES.items():
            row_id = f"P7.{name}.{n}"
            if name not in s:
                section.skip(row_id, f"{case}, {size}", missing[name])
                continue
            value = median(s[name])
            chart[size][label] = value * 1e6
            if name == "none":
                section.add(Row(row_id, f"{case}, {size}", value * 1e6, "us", _us(value)))
                continue
            added = median(paired(s[name], s["none"]))
            section.add(
                Row(
                    row_id,
                    f"{case}, {size}",
                    value * 1e6,
                    "us",
                    f"{_us(value)} (+{added * 1e6:,.2f} us)",
                    ref="no listener",
                    ratio=median(ratios(s[name], s["none"])),
                    target="" if "(diagnostic)" in case else "reported",
                    note=f"adds {added * 1e6:,.2f} us per hook over no listener "
                    f"({none * 1e6:,.2f} us), {added * n * 1000:,.2f} ms per startup + shutdown "
                    f"of {size}",
                )
            )

    section.notes.append(
        "Per hook: one no-op async resource (setup at startup, teardown at shutdown), as in "
        "P3, so each hook reports two results to the listeners; the time is that of a whole "
        "startup + shutdown divided by the number of hooks, the listener's creation left out. "
        "'a fresh registry per run': a `prometheus_client.CollectorRegistry` of its own for "
        "every run, so every series is created, as in a process's first (and usually only) "
        "run. OpenTelemetry: an SDK `TracerProvider` with a `SimpleSpanProcessor` into an "
        "`InMemorySpanExporter`, cleared after each run (outside the timing); no exporter "
        "over the network."
    )
    section.notes.append(
        "With a fresh registry nearly all of PrometheusListener's time is prometheus_client "
        "creating the series: `labels()` builds a child per hook, action and outcome (a "
        "histogram of 15 buckets and two counters, their label names validated), once per "
        "registry and process; the 'series already there' rows are what every later run "
        "costs. 'a listener doing nothing' is what the core spends on reporting each hook "
        "(its `HookResult`s) once any listener is registered."
    )
    return section
