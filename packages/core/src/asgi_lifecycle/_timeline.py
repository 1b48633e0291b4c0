"""A run's timeline: each hook's start and end per phase, the critical path, as SVG or text.

`Timeline` is a listener: add it to a lifespan, run a startup and a shutdown, and
it holds every phase's report with the moment the phase began. `critical_path`
finds the chain of hooks that made a phase as long as it was; `to_svg` draws the
timeline as a picture (like ``systemd-analyze plot``) and `to_text` as a Gantt
chart for a terminal. Standard library only; the SVG is built with
``xml.etree.ElementTree``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from ._events import LifecycleListener
from ._report import HookResult, LifecycleReport, Phase

__all__ = ("Bar", "PhaseSpan", "Timeline", "critical_path")

_EPSILON = 1e-4  # seconds: timer noise between a hook's end and the start it allowed


@dataclass(frozen=True)
class Bar:
    """One hook run on the timeline.

    Attributes:
        result: The hook's result.
        start: When it started, in seconds after the timeline began.
        end: When it ended, in seconds after the timeline began.
        critical: Whether it is on its phase's critical path.
    """

    result: HookResult
    start: float
    end: float
    critical: bool


@dataclass(frozen=True)
class PhaseSpan:
    """One phase on the timeline.

    Attributes:
        report: The phase's report.
        start: When it began, in seconds after the timeline began.
        bars: Its hook runs (skipped hooks left out), in the order they started.
    """

    report: LifecycleReport
    start: float
    bars: tuple[Bar, ...]

    @property
    def end(self) -> float:
        """When the phase ended, in seconds after the timeline began."""
        return self.start + self.report.duration


def critical_path(report: LifecycleReport) -> tuple[HookResult, ...]:
    """The chain of hook runs that decided how long a phase took, first to last.

    It ends with the hook that finished last. Walking back, each hook's blocker is
    the one, among those it waited for, that finished last: in a sequential phase
    the hook run before it; in a concurrent one, the hooks of the earlier
    priorities and, inside its own priority, its ``after=`` edges (reversed for a
    shutdown or rollback).

    Args:
        report: A phase's report.

    Returns:
        The hook results on the path, in the order they ran; empty if none ran.
    """
    ran = [r for r in report.results if r.outcome != "skipped"]
    if not ran:
        return ()
    forward = report.phase == "startup"

    def end(result: HookResult) -> float:
        return result.started + result.duration

    def waited_for(result: HookResult, other: HookResult) -> bool:
        if not report.concurrent:
            return ran.index(other) < ran.index(result)
        mine, theirs = result.hook, other.hook
        if mine.priority != theirs.priority:
            return (theirs.priority < mine.priority) == forward
        if forward:
            return theirs.name in mine.after
        return mine.name in theirs.after

    path = [max(ran, key=end)]
    while True:
        current = path[-1]
        blockers = [
            r
            for r in ran
            if r is not current and waited_for(current, r) and end(r) <= current.started + _EPSILON
        ]
        if not blockers:
            break
        path.append(max(blockers, key=end))
    return tuple(reversed(path))


class Timeline(LifecycleListener):
    """A listener that keeps every phase's report with the moment the phase began.

    Add it with `Lifespan.add_listener` before the startup; after the shutdown,
    `phases` holds the startup, any rollback and the shutdown, on one time axis
    that begins when the first phase did.
    """

    def __init__(self) -> None:
        self._t0: float | None = None
        self._begun: list[float] = []
        self._phases: list[PhaseSpan] = []

    def phase_started(self, phase: Phase, service_type: str, environment: str) -> None:
        """Note when a phase begins."""
        now = perf_counter()
        if self._t0 is None:
            self._t0 = now
        self._begun.append(now - self._t0)

    def phase_finished(self, report: LifecycleReport) -> None:
        """Keep a phase's report, its hooks placed on the time axis."""
        start = self._begun.pop() if self._begun else 0.0
        critical = {id(result) for result in critical_path(report)}
        bars = sorted(
            (
                Bar(
                    result,
                    start + result.started,
                    start + result.started + result.duration,
                    id(result) in critical,
                )
                for result in report.results
                if result.outcome != "skipped"
            ),
            key=lambda bar: bar.start,
        )
        self._phases.append(PhaseSpan(report, start, tuple(bars)))

    @property
    def phases(self) -> tuple[PhaseSpan, ...]:
        """The phases seen so far, in the order they ended."""
        return tuple(self._phases)

    @property
    def end(self) -> float:
        """When the last phase ended, in seconds after the first began (0.0 if none did)."""
        return max((phase.end for phase in self._phases), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """The timeline as JSON-ready data: seconds, per phase and per hook."""
        return {
            "duration": self.end,
            "phases": [
                {
                    "phase": span.report.phase,
                    "service_type": span.report.service_type,
                    "environment": span.report.environment,
                    "concurrent": span.report.concurrent,
                    "start": span.start,
                    "duration": span.report.duration,
                    "hooks": [
                        {
                            "name": bar.result.hook.name,
                            "action": bar.result.action,
                            "outcome": bar.result.outcome,
                            "start": bar.start,
                            "duration": bar.result.duration,
                            "critical": bar.critical,
                        }
                        for bar in span.bars
                    ],
                }
                for span in self._phases
            ],
        }

    def to_text(self, width: int = 60) -> str:
        """A Gantt chart for a terminal: one line per hook run, ``#`` on the critical path.

        Args:
            width: The columns of the chart's time axis.
        """
        total = self.end or 1.0
        names = [
            f"{bar.result.hook.name} {bar.result.action}"
            for span in self._phases
            for bar in span.bars
        ]
        label = max(16, max((len(name) for name in names), default=0) + 3)
        end = f"{total * 1000:.1f} ms"
        lines = [f"{'hook and action':<{label}} 0 ms{end:>{width - 3}}"]
        for span in self._phases:
            report = span.report
            lines.append(
                f"{report.phase} of {report.service_type!r} ({report.environment}): "
                f"{report.duration * 1000:.1f} ms, from {span.start * 1000:.1f} ms"
            )
            for bar in span.bars:
                first = min(width - 1, int(bar.start / total * width))
                last = max(first + 1, min(width, round(bar.end / total * width)))
                mark = "#" if bar.critical else "="
                chart = " " * first + mark * (last - first) + " " * (width - last)
                outcome = "" if bar.result.ok else f" {bar.result.outcome}"
                lines.append(
                    f"  {bar.result.hook.name + ' ' + bar.result.action:<{label - 2}}|{chart}| "
                    f"{bar.result.duration * 1000:.1f} ms{' *' if bar.critical else ''}{outcome}"
                )
        lines.append("# and * : the critical path of each phase")
        return "\n".join(lines)

    def to_svg(self, title: str = "asgi-lifecycle analyze") -> str:
        """The timeline as an SVG picture: a bar per hook run, critical path in red.

        Each bar is a ``rect`` of class ``bar`` (and ``critical`` on the path) whose
        ``data-start`` and ``data-duration`` give its seconds; its ``x`` and
        ``width`` are proportional to them.

        Args:
            title: The picture's title line.
        """
        return _svg(self, title)


# -- SVG ---------------------------------------------------------------------------------------

_LABEL = 280  # px: the column of hook names
_CHART = 620  # px: the time axis
_ROW = 22
_TOP = 56
_COLOURS = {"ok": "#4c8bf5", "critical": "#d93025", "failed": "#f29900"}


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    """Add an SVG element; ``font_size`` and the like become ``font-size``, ``class_`` ``class``."""
    attrib = {name.rstrip("_").replace("_", "-"): value for name, value in attributes.items()}
    element = ET.SubElement(parent, tag, attrib)
    element.text = text
    return element


def _svg(timeline: Timeline, title: str) -> str:
    total = timeline.end or 1.0
    scale = _CHART / total
    rows = sum(1 + len(span.bars) for span in timeline.phases)
    height = _TOP + rows * _ROW + 40
    width = _LABEL + _CHART + 90
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "font-family": "sans-serif",
            "font-size": "12",
        },
    )
    _add(svg, "rect", width=str(width), height=str(height), fill="#ffffff")
    _add(svg, "text", title, x="10", y="20", font_size="15")
    legend = (
        f"{total * 1000:.1f} ms in all; red: the critical path of each phase; "
        "orange: failed, timed out or cancelled"
    )
    _add(svg, "text", legend, x="10", y="38", fill="#555555")
    for tick in _ticks(total):
        x = f"{_LABEL + tick * scale:.2f}"
        _add(svg, "line", x1=x, x2=x, y1=str(_TOP - 6), y2=str(height - 30), stroke="#e0e0e0")
        _add(
            svg,
            "text",
            f"{tick * 1000:g} ms",
            x=x,
            y=str(height - 14),
            fill="#555555",
            text_anchor="middle",
            font_size="10",
        )
    y = _TOP
    for span in timeline.phases:
        report = span.report
        _add(
            svg,
            "rect",
            x=f"{_LABEL + span.start * scale:.3f}",
            y=str(y + 4),
            width=f"{max(report.duration * scale, 1.0):.3f}",
            height=str(_ROW - 8),
            fill="#ede7f6",
            class_="phase",
            data_phase=report.phase,
        )
        heading = (
            f"{report.phase} of {report.service_type} ({report.environment}), "
            f"{report.duration * 1000:.1f} ms"
        )
        _add(svg, "text", heading, x="10", y=str(y + 15), font_weight="bold")
        y += _ROW
        for bar in span.bars:
            result = bar.result
            colour = _COLOURS["critical" if bar.critical else "ok"]
            if not result.ok:
                colour = _COLOURS["failed"]
            rect = _add(
                svg,
                "rect",
                x=f"{_LABEL + bar.start * scale:.3f}",
                y=str(y + 4),
                width=f"{result.duration * scale:.3f}",
                height=str(_ROW - 8),
                fill=colour,
                class_="bar critical" if bar.critical else "bar",
                data_hook=result.hook.name,
                data_phase=report.phase,
                data_action=result.action,
                data_outcome=result.outcome,
                data_start=repr(bar.start),
                data_duration=repr(result.duration),
            )
            _add(
                rect,
                "title",
                f"{result.hook.name} {result.action} {result.outcome}: "
                f"{bar.start * 1000:.1f} to {bar.end * 1000:.1f} ms "
                f"({_file_line(result.hook.source)})",
            )
            _add(svg, "text", f"{result.hook.name} ({result.action})", x="22", y=str(y + 15))
            ending = "" if result.ok else f" {result.outcome}"
            _add(
                svg,
                "text",
                f"{result.duration * 1000:.1f} ms{ending}",
                x=f"{_LABEL + bar.end * scale + 4:.3f}",
                y=str(y + 15),
                fill="#555555",
                font_size="10",
            )
            y += _ROW
    ET.indent(svg)
    return ET.tostring(svg, encoding="unicode") + "\n"


def _file_line(source: str) -> str:
    """``file.py:12`` of a hook's source: a picture is shared, the folders are the machine's."""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def _ticks(total: float) -> list[float]:
    """Round tick positions (seconds) for an axis from 0 to ``total``."""
    step = 1e-4
    while total / step > 10:
        for factor in (2, 2.5, 2):
            step *= factor
            if total / step <= 10:
                break
    count = int(total / step + 1e-9)
    return [round(index * step, 6) for index in range(count + 1)]
