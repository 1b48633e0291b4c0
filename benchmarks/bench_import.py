"""P4: what ``import asgi_lifecycle`` costs over ``import asyncio``, in fresh interpreters."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from _harness import Config, Peer, Row, Section, median, median_ci

ID = "P4"
TITLE = "P4 - import cost (python -X importtime, fresh interpreters)"
NEEDS_PEER = True

LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


@dataclass(frozen=True)
class Import:
    """One line of ``-X importtime``."""

    name: str
    depth: int
    self_us: int
    cumulative_us: int


def importtime(python: str, code: str, isolated: bool) -> list[Import]:
    """Run ``code`` in a fresh interpreter; return its ``-X importtime`` lines in order."""
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    command = [python, *(["-I"] if isolated else []), "-X", "importtime", "-c", code]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    lines = []
    for line in done.stderr.splitlines():
        match = LINE.match(line)
        if match:
            self_us, cumulative, indent, name = match.groups()
            lines.append(Import(name, (len(indent) - 1) // 2, int(self_us), int(cumulative)))
    return lines


def top_level(lines: list[Import], name: str) -> Import:
    for line in lines:
        if line.depth == 0 and line.name == name:
            return line
    raise RuntimeError(f"no top-level import of {name} in -X importtime output")


def loaded_by(lines: list[Import], name: str) -> list[tuple[str, str]]:
    """The modules that importing ``name`` loaded, each with the module that imported it.

    ``-X importtime`` prints a module after everything it imported, one level deeper:
    the importer of a line is the next line one level up.
    """
    index = next(i for i, line in enumerate(lines) if line.depth == 0 and line.name == name)
    start = index
    while start > 0 and lines[start - 1].depth > 0:
        start -= 1
    found = []
    for i in range(start, index + 1):
        parent = next((p.name for p in lines[i + 1 : index + 1] if p.depth < lines[i].depth), "")
        found.append((lines[i].name, parent))
    return found


def is_stdlib(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names


def is_ours(module: str) -> bool:
    return module.split(".")[0] == "asgi_lifecycle"


def run(cfg: Config, peer: Peer) -> Section:
    section = Section(ID, TITLE)
    runs = cfg.pick(2, 7, 15)
    both = "import asyncio; import asgi_lifecycle"
    sides = [("ours", sys.executable, False)]
    if peer.available and peer.python is not None:
        sides.append(("v002", str(peer.python), True))
    for _, python, isolated in sides:  # compile the bytecode caches first
        importtime(python, both, isolated)
    asyncio_us: dict[str, list[int]] = {name: [] for name, _, _ in sides}
    over_us: dict[str, list[int]] = {name: [] for name, _, _ in sides}
    modules: dict[str, list[tuple[str, str]]] = {}
    self_us: dict[str, list[int]] = {}
    for index in range(runs):
        order = sides if index % 2 == 0 else sides[::-1]
        for name, python, isolated in order:
            alone = importtime(python, "import asyncio", isolated)
            asyncio_us[name].append(top_level(alone, "asyncio").cumulative_us)
            lines = importtime(python, both, isolated)
            over_us[name].append(top_level(lines, "asgi_lifecycle").cumulative_us)
            modules[name] = loaded_by(lines, "asgi_lifecycle")
            if name == "ours":
                loaded = {module for module, _ in modules[name]}
                for line in lines:
                    if line.name in loaded:
                        self_us.setdefault(line.name, []).append(line.self_us)

    base = median(asyncio_us["ours"]) / 1000
    section.add(
        Row("P4.asyncio", "import asyncio (this environment)", base, "ms", f"{base:.2f} ms")
    )
    value = median(over_us["ours"]) / 1000
    low, high = (x / 1000 for x in median_ci(over_us["ours"]))
    section.add(
        Row(
            "P4.ours",
            "import asgi_lifecycle, over import asyncio",
            value,
            "ms",
            f"{value:.2f} ms (CI {low:.2f}..{high:.2f})",
            ref="import asyncio",
            ratio=value / base,
            target="<= 5 ms",
            verdict="pass" if value <= 5 else "MISS",
        )
    )
    # What our modules import themselves; what a stdlib module imports in turn is its own
    # business (copy.py, for one, still probes for Jython's org.python.core).
    ours_modules = [(m, by) for m, by in modules["ours"] if is_ours(by) or not by]
    direct = [m for m, _ in ours_modules if not is_ours(m)]
    foreign = [m for m in direct if not is_stdlib(m)]
    section.add(
        Row(
            "P4.stdlib",
            "what asgi_lifecycle imports beyond asyncio",
            float(len(direct)),
            "modules",
            f"{len(direct)} modules, {len(modules['ours'])} loaded in all",
            target="stdlib only",
            verdict="MISS" if foreign else "pass",
            note=("not stdlib: " + ", ".join(f"`{m}`" for m in foreign) + "; " if foreign else "")
            + "it imports (not loaded by asyncio already): "
            + (", ".join(f"`{m}`" for m in sorted(direct)) or "none"),
        )
    )
    heaviest = sorted(((median(v) / 1000, m) for m, v in self_us.items()), reverse=True)[:6]
    section.rows[-2].note = "where the time goes (own time per module): " + ", ".join(
        f"`{module}` {ms:.2f} ms" for ms, module in heaviest
    )
    section.chart["ms"] = {"import asyncio": base, "asgi-lifecycle (over asyncio)": value}
    if "v002" in over_us:
        v002 = median(over_us["v002"]) / 1000
        section.add(
            Row(
                "P4.v002",
                "asgi-lifecycle 0.0.2, over import asyncio (own env)",
                v002,
                "ms",
                f"{v002:.2f} ms",
                ref="asgi-lifecycle",
                ratio=v002 / value,
                note="it imports: "
                + ", ".join(
                    sorted(f"`{m}`" for m, by in modules["v002"] if is_ours(by) and not is_ours(m))
                ),
            )
        )
        section.chart["ms"]["asgi-lifecycle 0.0.2 (over asyncio)"] = v002
    else:
        section.skip("P4.v002", "asgi-lifecycle 0.0.2, over import asyncio", peer.reason)
    return section
