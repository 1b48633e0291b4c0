"""C12: the core before and after its restructure, side by side in one run.

The core of an earlier commit (``BASELINE``: what had landed before the registry and the
runner were taken apart) is taken out of git into the cache and measured by a worker
of its own, the current core by another; both workers run the same code
(``peer_core.py``), round by round in turn, each against an ``AsyncExitStack`` and a bare
Starlette app of its own process. The import cost is measured in fresh interpreters.
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path

import bench_import
from _harness import (
    HERE,
    Config,
    Peer,
    PeerError,
    Row,
    Section,
    Worker,
    median,
    paired,
    ratios,
    within,
)

ID = "C12"
TITLE = "C12 - the core before and after its restructure (issue 12)"
NEEDS_PEER = False

BASELINE = "27fdfab2a252bcf3e435fb3d52c077def3d22c19"
"""The core as it landed before the restructure: asgi-lifecycle 0.1.0 of that commit."""
SCRIPT = HERE / "peer_core.py"
ROOT = HERE.parent


def baseline_source(cache_dir: Path, ref: str = BASELINE) -> Path:
    """The baseline core's ``src`` directory, taken out of git into the cache once.

    Raises:
        PeerError: this is not a git checkout holding ``ref``.
    """
    target = cache_dir / f"core-{ref[:12]}"
    src = target / "packages" / "core" / "src"
    if (src / "asgi_lifecycle" / "__init__.py").is_file():
        return src
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "packages/core/src"],
            capture_output=True,
            timeout=120,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise PeerError(f"the baseline commit {ref[:12]} is not in this checkout: {exc}") from exc
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return src


class CoreWorker(Worker):
    """A `peer_core.py` worker on this environment's Python, with one build of the core."""

    def __init__(self, cache_dir: Path, source: Path | None) -> None:
        super().__init__(cache_dir)
        self.source = source
        self.version = ""

    def start(self) -> None:
        self.spawn([sys.executable, "-I", str(SCRIPT), str(self.source or "")])
        self.version = str(self.call("hello", timeout=60)["version"])


def run(cfg: Config, peer: Peer) -> Section:
    section = Section(ID, TITLE)
    try:
        source = baseline_source(cfg.cache_dir)
    except PeerError as exc:
        for row_id, case in CASES.items():
            section.skip(row_id, case, str(exc))
        return section
    workers = {
        "after": CoreWorker(cfg.cache_dir, None),
        "before": CoreWorker(cfg.cache_dir, source),
    }
    try:
        for worker in workers.values():
            worker.start()
        _runner(cfg, section, workers, "pairs")
        _runner(cfg, section, workers, "resources")
        _registration(cfg, section, workers)
        _requests(cfg, section, workers)
    finally:
        for worker in workers.values():
            worker.close()
    _imports(cfg, section, source)
    section.notes.append(
        f"before: the core of commit {BASELINE[:12]} (asgi-lifecycle 0.1.0 as it landed, one "
        "1,000-line module), run from a copy taken out of git; after: this checkout. Both are "
        "measured by the same code in two worker processes, taking turns."
    )
    _table(section)
    return section


CASES = {
    "C12.pairs": "runner cost per hook: 10,000 no-op start + shutdown hooks (a pair each)",
    "C12.resources": "runner cost per resource: 10,000 async generators",
    "C12.register": "registering 10,000 start + 10,000 shutdown hooks",
    "C12.import": "import asgi_lifecycle after asyncio",
    "C12.request": "LifespanMiddleware per http request around Starlette",
}
GOALS = {
    "C12.pairs": "<= 2.0x AsyncExitStack (stretch <= 1.5x)",
    "C12.resources": "<= 2.0x AsyncExitStack",
    "C12.register": "< 100 ms, linear in N",
    "C12.import": "<= 5 ms",
    "C12.request": "near the pass-through (within 50 ns of it)",
}


def _alternate(rounds: int, workers: Mapping[str, Worker], op: str) -> dict[str, list[float]]:
    """``rounds`` rounds of ``op`` in each worker, in turn; the samples per worker and key."""
    samples: dict[str, list[float]] = {}
    names = list(workers)
    for index in range(rounds + 1):  # the first round warms up
        for name in names if index % 2 else names[::-1]:
            answer = workers[name].call(op, timeout=1200)
            if index:
                for key, value in answer.items():
                    samples.setdefault(f"{name}.{key}", []).append(float(value))
    return samples


def _runner(cfg: Config, section: Section, workers: Mapping[str, Worker], kind: str) -> None:
    n = cfg.pick(10, 1_000, 10_000)
    cycles = cfg.pick(2, 3, 3)
    for worker in workers.values():
        worker.call("runner.setup", kind=kind, n=n, cycles=cycles, timeout=1200)
    s = _alternate(cfg.pick(2, 5, 15), workers, "runner.round")
    factor = 2 if kind == "pairs" else 1  # a pair stands for one context manager
    values = {
        side: ratios([x * factor for x in s[f"{side}.ours"]], s[f"{side}.stack"])
        for side in workers
    }
    row_id = f"C12.{kind}"
    after, before = median(values["after"]), median(values["before"])
    section.add(
        Row(
            row_id,
            CASES[row_id].replace("10,000", f"{n:,}"),
            after,
            "x",
            f"{after:.2f}x (before: {before:.2f}x)",
            ref="AsyncExitStack",
            ratio=after,
            target=GOALS[row_id],
            verdict=within(values["after"], 2.0),
            note=f"per unit: {median(s['after.ours']) * factor * 1e6:.2f} us after, "
            f"{median(s['before.ours']) * factor * 1e6:.2f} us before; the stack "
            f"{median(s['after.stack']) * 1e6:.2f} us",
        )
    )
    section.chart.setdefault("before_after", {})[kind] = {"before": before, "after": after}


def _registration(cfg: Config, section: Section, workers: Mapping[str, Worker]) -> None:
    small, large = cfg.pick((100, 1_000), (1_000, 10_000), (1_000, 10_000))
    s: dict[str, list[float]] = {}
    for index in range(cfg.pick(1, 3, 5)):
        for name in workers if index % 2 else list(workers)[::-1]:
            for n in (small, large):
                seconds = workers[name].call("register", n=n, timeout=1200)["seconds"]
                s.setdefault(f"{name}.{n}", []).append(float(seconds))
    after, before = median(s[f"after.{large}"]), median(s[f"before.{large}"])
    per_hook = (after / large, median(s[f"after.{small}"]) / small)
    k = 1 + math.log(per_hook[0] / per_hook[1]) / math.log(large / small)
    section.add(
        Row(
            "C12.register",
            CASES["C12.register"].replace("10,000", f"{large:,}"),
            after * 1000,
            "ms",
            f"{after * 1000:.1f} ms (before: {before * 1000:.1f} ms)",
            ref="before",
            ratio=after / before,
            target=GOALS["C12.register"],
            verdict="pass" if after < 0.1 and k <= 1.1 else within(s[f"after.{large}"], 0.1),
            note=f"{after / (2 * large) * 1e6:.2f} us per hook; growth from {small:,} to "
            f"{large:,}: time ~ n^{k:.2f}",
        )
    )


def _requests(cfg: Config, section: Section, workers: Mapping[str, Worker]) -> None:
    batch = cfg.pick(5, 150, 300)
    for worker in workers.values():
        worker.call("request.setup", batch=batch, timeout=600)
    s = _alternate(cfg.pick(3, 60, 300), workers, "request.round")
    added = {side: paired(s[f"{side}.ours"], s[f"{side}.starlette"]) for side in workers}
    wrapper = paired(s["after.wrapper"], s["after.starlette"])
    over_wrapper = paired(s["after.ours"], s["after.wrapper"])
    after, before = median(added["after"]), median(added["before"])
    section.add(
        Row(
            "C12.request",
            CASES["C12.request"],
            after,
            "ns",
            f"+{after:.0f} ns (before: +{before:.0f} ns; pass-through: +{median(wrapper):.0f} ns)",
            ref="pass-through",
            ratio=median(ratios(s["after.ours"], s["after.wrapper"])),
            target=GOALS["C12.request"],
            verdict=within(over_wrapper, 50.0),
            note=f"Starlette itself: {median(s['after.starlette']):,.0f} ns per request; "
            f"ours minus the pass-through, paired: {median(over_wrapper):+.0f} ns",
        )
    )


def _imports(cfg: Config, section: Section, source: Path) -> None:
    runs = cfg.pick(2, 7, 15)
    code = "import asyncio; import asgi_lifecycle"
    before_code = f"import sys; sys.path.insert(0, {str(source)!r}); {code}"
    for program in (code, before_code):
        bench_import.importtime(sys.executable, program, True)  # compile the bytecode first
    s: dict[str, list[float]] = {"after": [], "before": []}
    for index in range(runs):
        order = [("after", code), ("before", before_code)]
        for name, program in order if index % 2 else order[::-1]:
            lines = bench_import.importtime(sys.executable, program, True)
            s[name].append(bench_import.top_level(lines, "asgi_lifecycle").cumulative_us / 1000)
    after, before = median(s["after"]), median(s["before"])
    section.add(
        Row(
            "C12.import",
            CASES["C12.import"],
            after,
            "ms",
            f"+{after:.2f} ms (before: +{before:.2f} ms)",
            ref="before",
            ratio=after / before,
            target=GOALS["C12.import"],
            verdict=within(s["after"], 5.0),
        )
    )


def _table(section: Section) -> None:
    """The issue's table: each measure, before, after, and its goal."""
    rows: list[tuple[str, ...]] = []
    for row in section.rows:
        if row.value is None:
            rows.append((row.case, "skipped", "skipped", GOALS.get(row.id, ""), row.verdict))
            continue
        after, _, before = row.shown.partition(" (before: ")
        rows.append((row.case, before.split(";")[0].rstrip(")"), after, row.target, row.verdict))
    section.table = (("measure", "before", "after", "goal", "result"), rows)
