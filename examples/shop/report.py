"""What ran where, read back from the events file the processes wrote (see recorder.py).

`run.py` prints it: per process, the hooks of each phase in the order they started, with
their outcome and duration; then timelines drawn with bars.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder import RECORDER

Event = dict[str, Any]
PHASES = ("startup", "shutdown", "rollback")
BAR = "▇"
WIDTH = 40  # columns of a whole timeline


@dataclass
class ProcessRun:
    """Everything one process recorded."""

    label: str
    pid: int
    service_type: str
    celery: str | None
    phases: dict[str, list[Event]] = field(default_factory=dict)

    def hooks(self, phase: str) -> list[Event]:
        """The hooks of one phase (not the recorder's own), in the order they started."""
        events = [e for e in self.phases.get(phase, []) if e["hook"] != RECORDER]
        return sorted(events, key=lambda e: float(e["started"]))

    def ran(self, phase: str) -> bool:
        """Whether the process recorded this phase at all."""
        return phase in self.phases

    def ok(self, phase: str) -> bool:
        """Whether the phase ran and every hook of it succeeded."""
        return self.ran(phase) and all(e["outcome"] == "ok" for e in self.phases[phase])

    def failed(self, phase: str) -> list[Event]:
        """The hooks of a phase that did not succeed."""
        return [e for e in self.hooks(phase) if e["outcome"] != "ok"]

    def states(self) -> list[tuple[str, float]]:
        """The states it went through (what its probes answered), with when it entered each."""
        return [(e["state"], float(e["ended_at"])) for e in self.phases.get("state", [])]

    def ready_at(self) -> float | None:
        """When its last startup hook succeeded (a wall-clock time), if it did."""
        ready = self.phases.get("ready")
        return float(ready[0]["ended_at"]) if ready else None


def load(path: Path) -> list[ProcessRun]:
    """Read the events file: one `ProcessRun` per process, in the order they first wrote."""
    runs: dict[int, ProcessRun] = {}
    if not path.exists():
        return []
    for line in path.read_text().splitlines():
        if not line.endswith("}"):
            continue  # a process killed in the middle of a write
        event: Event = json.loads(line)
        run = runs.get(event["pid"])
        if run is None:
            run = ProcessRun(event["label"], event["pid"], event["service_type"], event["celery"])
            runs[event["pid"]] = run
        if event["phase"] != "state":  # a state may come before the run said what it is
            run.service_type, run.celery = event["service_type"], event["celery"]
        run.phases.setdefault(event["phase"], []).append(event)
    return list(runs.values())


def short(hook: str) -> str:
    """A hook's name as shown: the shop's hooks by name, an adapter's own with its package."""
    module, _, name = hook.rpartition(".")
    if module == "lifecycle":
        return name
    return f"{module.removeprefix('asgi_lifecycle_')}: {name}"


def phase_of(priority: int) -> str:
    """The phase column: p0, p1, ...; an adapter's hooks pinned before or after all: p-∞, p∞."""
    if abs(priority) < 10**6:
        return f"p{priority}"
    return "p∞" if priority > 0 else "p-∞"


def ms(seconds: float) -> str:
    """A duration, in milliseconds."""
    return f"{seconds * 1000:.1f} ms"


def span(events: Sequence[Event]) -> tuple[float, float]:
    """When the first of these hooks started and the last ended, in seconds into the phase."""
    if not events:
        return 0.0, 0.0
    first = min(float(e["started"]) for e in events)
    return first, max(float(e["started"]) + float(e["duration"]) for e in events)


def outcomes(events: Iterable[Event]) -> str:
    """How the hooks of a phase ended, counted: "ok" or, say, "2 ok, 1 failed, 1 cancelled"."""
    counts = Counter(e["outcome"] for e in events)
    if set(counts) <= {"ok"}:
        return "ok"
    return ", ".join(f"{n} {outcome}" for outcome, n in counts.items())


def bar(begin: float, end: float, scale: float) -> str:
    """A bar from ``begin`` to ``end`` (seconds), ``scale`` seconds being the full width."""
    first = min(int(begin / scale * WIDTH), WIDTH - 1)
    length = min(max(1, round(end / scale * WIDTH) - first), WIDTH - first)
    return "|" + f"{' ' * first}{BAR * length}".ljust(WIDTH) + "|"


def tables(runs: list[ProcessRun], title: Callable[[ProcessRun], str]) -> list[str]:
    """Per process: each phase it ran, each hook with its action, outcome and duration."""
    names = [short(e["hook"]) for r in runs for p in PHASES for e in r.hooks(p)]
    width = max(map(len, names), default=8)
    lines: list[str] = []
    for run in runs:
        lines.append(title(run))
        for phase in PHASES:
            if not run.ran(phase):
                continue
            hooks = run.hooks(phase)
            first, last = span(hooks)
            count = f"{len(hooks)} hook{'' if len(hooks) == 1 else 's'}"
            summary = f"{count}, {outcomes(hooks)}, {ms(last - first)}"
            lines.append(f"  {phase:<9} {summary}")
            for event in hooks:
                row = (
                    f"    {phase_of(event['priority']):<3}  {short(event['hook']):<{width}}  "
                    f"{event['action']:<8}  {event['outcome']:<9}  {ms(event['duration']):>8}"
                )
                if event["error"]:
                    row += f"\n         {event['error']}"
                lines.append(row)
        lines.append("")
    return lines


def hook_timeline(runs: list[ProcessRun], title: Callable[[ProcessRun], str]) -> list[str]:
    """Each process's startup as bars: one row per hook, from its start to its end.

    Each process is drawn on its own scale (its whole startup is `WIDTH` columns), so that a
    startup of 3 ms reads as well as one of 300 ms.
    """
    names = [short(e["hook"]) for r in runs for e in r.hooks("startup")]
    width = max(map(len, names), default=8)
    lines: list[str] = []
    for run in runs:
        hooks = run.hooks("startup")
        if not hooks:
            continue
        first, last = span(hooks)
        scale = (last - first) or 1e-9
        lines.append(f"{title(run)}: startup {ms(last - first)}")
        for event in hooks:
            begin = float(event["started"]) - first
            drawn = bar(begin, begin + float(event["duration"]), scale)
            mark = "" if event["outcome"] == "ok" else f" {event['outcome']}"
            name = short(event["hook"])
            lines.append(f"  {phase_of(event['priority']):<3}  {name:<{width}}  {drawn}{mark}")
        lines.append("")
    return lines


def process_timeline(rows: list[tuple[str, float, float | None]]) -> list[str]:
    """Processes as bars on one clock: from being started to the end of their startup.

    Args:
        rows: A label, when the process was spawned and when its startup finished (or None,
            when it never did), both wall-clock times.
    """
    if not rows:
        return []
    origin = min(spawned for _, spawned, _ in rows)
    end = max((ready or spawned) for _, spawned, ready in rows)
    scale = (end - origin) or 1e-9
    width = max(len(label) for label, _, _ in rows)
    lines = []
    for label, spawned, ready in rows:
        start = spawned - origin
        if ready is None:
            lines.append(f"  {label:<{width}}  {bar(start, start, scale)} never ready")
        else:
            drawn = bar(start, ready - origin, scale)
            lines.append(f"  {label:<{width}}  {drawn} ready at {ready - origin:.2f} s")
    return lines


def health_lines(
    runs: list[ProcessRun], title: Callable[[ProcessRun], str], stopped_at: dict[str, float]
) -> list[str]:
    """Per process, the states it went through, in seconds from the SIGTERM it was sent.

    Args:
        runs: What the processes recorded.
        title: How a process is named.
        stopped_at: When each process (by label) was sent SIGTERM, a wall-clock time.
    """
    lines: list[str] = []
    for run in runs:
        sigterm = stopped_at.get(run.label)
        if sigterm is None:
            continue
        before = [f"{state} {at - sigterm:+.2f} s" for state, at in run.states() if at < sigterm]
        after = [f"{state} {at - sigterm:+.2f} s" for state, at in run.states() if at >= sigterm]
        lines.append(f"  {title(run)}")
        lines.append(f"    {', '.join(before) or '-'}  | SIGTERM |  {', '.join(after) or '-'}")
    return lines
