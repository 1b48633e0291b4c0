"""Draws docs/images/startup-trace.png: the spans of a real startup, as a trace viewer shows them.

    hatch run python docs/_trace.py

It runs the startup of the example in observability.md with `OpenTelemetryListener`, takes
the spans from the SDK's in-memory exporter, and draws one bar per span on one time axis.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from asgi_lifecycle import Lifespan, LifespanContext
from asgi_lifecycle.opentelemetry import OpenTelemetryListener

OUT = Path(__file__).resolve().parent / "images" / "startup-trace.png"


def spans() -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    lifespan = Lifespan(concurrent=True)
    lifespan.add_listener(OpenTelemetryListener(tracer_provider=provider))

    @lifespan.resource(name="database")
    async def database(context: LifespanContext):  # noqa: ANN202
        await asyncio.sleep(0.05)
        yield "connection"

    @lifespan.on_start(name="warm_cache")
    async def warm_cache() -> None:
        await asyncio.sleep(0.03)

    @lifespan.on_start(name="migrations", after="database")
    async def migrations() -> None:
        await asyncio.sleep(0.01)

    asyncio.run(lifespan.startup(LifespanContext("api", "production")))
    return sorted(exporter.get_finished_spans(), key=lambda span: span.start_time or 0)


def draw(found: list[ReadableSpan], path: Path) -> None:
    root = next(span for span in found if span.parent is None)
    t0 = root.start_time or 0
    figure, axes = plt.subplots(figsize=(8, 0.55 * len(found) + 1.0))
    for row, span in enumerate(found):
        start = ((span.start_time or 0) - t0) / 1e6
        width = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        child = span.parent is not None
        axes.barh(row, width, left=start, height=0.6, color="#4c8bf5" if child else "#7b61c4")
        label = ("    " if child else "") + span.name
        axes.text(-1, row, label, ha="right", va="center", fontsize=9)
        axes.text(start + width + 0.5, row, f"{width:.1f} ms", va="center", fontsize=8)
    axes.set_yticks([])
    axes.invert_yaxis()
    axes.set_xlabel("ms since the startup began")
    axes.set_title("the startup of api: a span, and a child span per hook")
    axes.spines[["top", "right", "left"]].set_visible(False)
    figure.tight_layout()
    figure.subplots_adjust(left=0.28)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    draw(spans(), OUT)
    print(f"wrote {OUT.name}")
