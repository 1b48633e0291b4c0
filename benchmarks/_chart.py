"""The results as one PNG chart (benchmarks/results/results.png), drawn with matplotlib."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from _harness import Section

OURS = "#1f77b4"
DIAGNOSTIC = "#9ec5e8"
OTHER = "#b0b0b0"
REFERENCE = "#6a9f58"


def _colour(label: str) -> str:
    if "shutdown_timeout" in label or "(diagnostic)" in label:
        return DIAGNOSTIC
    if "floor" in label or "pass-through" in label or "AsyncExitStack" in label:
        return REFERENCE
    if label.startswith(("no listener", "plain request", "Starlette request")):
        return REFERENCE
    if label.startswith(("asgi-lifecycle", "ours")) and "0.0.2" not in label:
        return OURS
    if "Listener" in label:  # P7: our listeners
        return OURS
    return OTHER


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _bars(axis: Any, values: Mapping[str, float], unit: str, title: str) -> None:
    labels = list(values)
    numbers = [values[label] for label in labels]
    axis.barh(labels, numbers, color=[_colour(label) for label in labels])
    axis.invert_yaxis()
    axis.set_title(title, fontsize=10)
    axis.set_xlabel(unit)
    for y, number in enumerate(numbers):
        axis.annotate(f" {_number(number)}", (number, y), va="center", fontsize=8)
    axis.margins(x=0.25)


def _grouped(axis: Any, groups: Mapping[str, Mapping[str, float]], unit: str, title: str) -> None:
    series = sorted(
        {name for values in groups.values() for name in values},
        key=lambda name: ("AsyncExitStack" not in name, "0.0.2" in name, name),
    )
    width = 0.8 / max(len(series), 1)
    for index, name in enumerate(series):
        xs = [g + index * width for g in range(len(groups))]
        ys = [groups[group].get(name, 0.0) for group in groups]
        axis.bar(xs, ys, width, label=name, color=_colour(name))
        for x, y in zip(xs, ys, strict=True):
            axis.annotate(_number(y), (x, y), ha="center", va="bottom", fontsize=7)
    axis.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))], list(groups))
    axis.set_ylabel(unit)
    axis.set_title(title, fontsize=10)
    top = max((v for values in groups.values() for v in values.values()), default=1.0)
    axis.set_ylim(0, top * 1.45)
    axis.legend(fontsize=7, loc="upper center", ncol=2)


def draw(sections: Sequence[Section], path: Path, subtitle: str) -> None:
    """Draw one panel per benchmark into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_id = {section.id: section.chart for section in sections if section.chart}
    panels: list[tuple[str, str, str, str]] = [
        ("P1", "added_ns", "ns added per request", "P1 - per request, over the bare app"),
        ("P1d", "us", "us per request", "P1d - Django request"),
        ("P2", "ms", "ms to startup.complete", "P2 - startup, 20 hooks x 50 ms"),
        ("P3", "us_per_hook", "us per hook", "P3 - runner cost per no-op hook"),
        ("P4", "ms", "ms", "P4 - import cost"),
        ("P5", "s", "s to shutdown", "P5 - shutdown with hung hooks"),
        ("P6", "ns", "ns per request", "P6 - health probe, in-process"),
        ("P7", "us_per_hook", "us per hook", "P7 - listener overhead per no-op hook"),
        ("C12", "before_after", "x AsyncExitStack", "C12 - runner cost, before and after"),
    ]
    present = [panel for panel in panels if panel[1] in by_id.get(panel[0], {})]
    if not present:
        return
    columns = 2
    rows = (len(present) + 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(14, 4.2 * rows), squeeze=False)
    for axis, (id, key, unit, title) in zip(axes.flat, present, strict=False):
        data = by_id[id][key]
        if id in ("P3", "C12", "P7"):
            _grouped(axis, data, unit, title)
        else:
            _bars(axis, data, unit, title)
        if id == "P5" and "budget" in by_id[id]:
            axis.axvline(by_id[id]["budget"], color="black", linestyle=":", linewidth=1)
    for axis in list(axes.flat)[len(present) :]:
        axis.set_visible(False)
    figure.suptitle(f"asgi-lifecycle benchmarks - {subtitle}", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
