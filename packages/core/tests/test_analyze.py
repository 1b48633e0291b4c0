from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from typing import Any

import pytest

TIMEOUT = 60
SVG = "{http://www.w3.org/2000/svg}"

HOOKS = """
import asyncio
import time

from asgi_lifecycle import Lifespan, lifespan

@lifespan.resource(priority=0)
async def database():
    await asyncio.sleep(0.06)
    yield "db"
    await asyncio.sleep(0.02)

@lifespan.on_start(priority=1)
async def warm_cache():
    await asyncio.sleep(0.02)

@lifespan.on_start(priority=1)
async def slow_index():
    await asyncio.sleep(0.09)

@lifespan.on_start(priority=1, after=warm_cache)
async def prime():
    await asyncio.sleep(0.01)

@lifespan.on_shutdown(priority=1)
def flush():
    time.sleep(0.03)

@lifespan.on_start(priority=2, service_types="worker")
def broken():
    raise RuntimeError("no broker")

own = Lifespan()

@own.on_start
def only_here():
    time.sleep(0.01)
"""


@pytest.fixture
def project(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.asgi-lifecycle]\nmodules = ["hooks"]\nconcurrent = true\n', encoding="utf-8"
    )
    (tmp_path / "hooks.py").write_text(textwrap.dedent(HOOKS), encoding="utf-8")
    return tmp_path


def cli(cwd: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASGI_LIFECYCLE_")}
    return subprocess.run(
        [sys.executable, "-m", "asgi_lifecycle", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def bars(path: pathlib.Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    found = {}
    for rect in root.iter(f"{SVG}rect"):
        if "bar" in rect.get("class", "").split():
            found[(rect.get("data-phase", ""), rect.get("data-hook", ""))] = rect
    return found


def hooks_of(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (phase["phase"], hook["name"]): hook
        for phase in document["phases"]
        for hook in phase["hooks"]
    }


def test_analyze_svg_bars_match_the_report(project: pathlib.Path) -> None:
    """analyze writes an SVG whose bars start and last in proportion to the hooks' timings."""
    done = cli(project, "analyze", "--format", "json", "--svg", "timeline.svg")
    assert done.returncode == 0, done.stderr
    timings = hooks_of(json.loads(done.stdout))
    drawn = bars(project / "timeline.svg")
    assert set(drawn) == set(timings)
    assert set(timings) == {
        ("startup", "hooks.database"),
        ("startup", "hooks.warm_cache"),
        ("startup", "hooks.slow_index"),
        ("startup", "hooks.prime"),
        ("shutdown", "hooks.flush"),
        ("shutdown", "hooks.database"),
    }
    scale = (
        float(drawn[("startup", "hooks.database")].get("width", ""))
        / (timings[("startup", "hooks.database")]["duration"])
    )
    origin = float(drawn[("startup", "hooks.database")].get("x", ""))
    for key, hook in timings.items():
        rect = drawn[key]
        assert float(rect.get("width", "")) == pytest.approx(hook["duration"] * scale, abs=0.01)
        x = origin + (hook["start"] - timings[("startup", "hooks.database")]["start"]) * scale
        assert float(rect.get("x", "")) == pytest.approx(x, abs=0.01)
        assert float(rect.get("data-duration", "")) == pytest.approx(hook["duration"])
    # The sleeps set the durations; the shutdown comes after the whole startup.
    assert timings[("startup", "hooks.slow_index")]["duration"] >= 0.09
    assert timings[("startup", "hooks.database")]["duration"] >= 0.06
    startup_end = max(h["start"] + h["duration"] for k, h in timings.items() if k[0] == "startup")
    assert timings[("shutdown", "hooks.flush")]["start"] >= startup_end


def test_analyze_marks_the_critical_path(project: pathlib.Path) -> None:
    """The critical path is the chain of hooks each phase waited on, in the SVG and the chart."""
    done = cli(project, "analyze", "--svg", "timeline.svg")
    assert done.returncode == 0, done.stderr
    critical = {
        key
        for key, rect in bars(project / "timeline.svg").items()
        if "critical" in rect.get("class", "").split()
    }
    assert critical == {
        ("startup", "hooks.database"),
        ("startup", "hooks.slow_index"),
        ("shutdown", "hooks.flush"),
        ("shutdown", "hooks.database"),
    }
    lines = {line.split()[0] + " " + line.split()[1]: line for line in done.stdout.splitlines()[2:]}
    assert lines["hooks.slow_index start"].endswith(" *")
    assert "#" in lines["hooks.slow_index start"]
    assert not lines["hooks.warm_cache start"].endswith(" *")
    assert "=" in lines["hooks.warm_cache start"]
    assert "wrote timeline.svg" in done.stderr


def test_analyze_failed_startup_draws_the_rollback(project: pathlib.Path) -> None:
    """A failed startup exits 1 naming the hook, and the picture shows the rollback."""
    done = cli(project, "analyze", "--service-type", "worker", "--svg", "timeline.svg")
    assert done.returncode == 1
    assert "hooks.broken" in done.stderr
    assert "no broker" in done.stderr
    drawn = bars(project / "timeline.svg")
    assert drawn[("startup", "hooks.broken")].get("data-outcome") == "failed"
    assert ("rollback", "hooks.database") in drawn


def test_analyze_another_lifespan(project: pathlib.Path) -> None:
    """--lifespan MODULE:NAME analyzes a service's own Lifespan, without an SVG for --svg -."""
    done = cli(project, "analyze", "--lifespan", "hooks:own", "--svg", "-")
    assert done.returncode == 0, done.stderr
    assert "hooks.only_here start" in done.stdout
    assert "hooks.database" not in done.stdout
    assert not (project / "lifecycle-timeline.svg").exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("hooks", "--lifespan hooks: give MODULE:NAME"),
        ("nowhere:lifespan", "--lifespan nowhere:lifespan: cannot import 'nowhere'"),
        ("hooks:asyncio", "--lifespan hooks:asyncio: hooks.asyncio is module, not a Lifespan"),
    ],
)
def test_analyze_bad_lifespan_is_named(project: pathlib.Path, spec: str, message: str) -> None:
    """A --lifespan that names no Lifespan fails with exit 1 and says what is wrong."""
    done = cli(project, "analyze", "--lifespan", spec)
    assert done.returncode == 1
    assert message in done.stderr
