"""Each benchmark runs at a tiny size and produces its rows; no time is ever asserted."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"

# Every row each benchmark must produce, and the module a row needs: when that module is
# importable here, the row must carry a number, not a "skipped".
ROWS: dict[str, dict[str, str | None]] = {
    "P1": {
        "P1.bare": None,
        "P1.wrapper": None,
        "P1.returning": None,
        "P1.ours": None,
        "P1.v002": "peer",
        "P1.starlette": "starlette",
        "P1.starlette_wrapper": "starlette",
        "P1.starlette_ours": "starlette",
    },
    "P1d": {
        "P1d.stock": "django",
        "P1d.dal": "django_asgi_lifespan",
        "P1d.ours": "asgi_lifecycle_django",
    },
    "P2": {
        "P2.gather": None,
        "P2.sum": None,
        "P2.ours_concurrent": None,
        "P2.ours_sequential": None,
        "P2.fastapi": "fastapi",
        "P2.dal": "django_asgi_lifespan",
        "P2.v002": "peer",
        "P2.chain_floor": None,
        "P2.ours_chain": None,
    },
    "P3": {
        **{
            f"P3.{name}.{n}": ("peer" if name == "v002" else None)
            for n in (1, 10, 100)
            for name in ("stack", "ours", "unbounded", "v002")
        },
        "P3.linear": None,
        "P3.register": None,
        "P3.register_linear": None,
        "P3.v002_register": "peer",
    },
    "P4": {"P4.asyncio": None, "P4.ours": None, "P4.stdlib": None, "P4.v002": "peer"},
    "P6": {
        "P6.plain": None,
        "P6.starlette": "starlette",
        "P6.live": None,
        "P6.cached": None,
        "P6.uncached": None,
        "P6.check": None,
    },
    "P7": {
        f"P7.{name}.{n}": {
            "none": None,
            "empty": None,
            "prometheus": "prometheus_client",
            "prometheus_warm": "prometheus_client",
            "otel": "opentelemetry.sdk",
            "otel_noop": "opentelemetry",
        }[name]
        for n in (10, 100)
        for name in ("none", "empty", "prometheus", "prometheus_warm", "otel", "otel_noop")
    },
    "C12": {
        "C12.pairs": "baseline",
        "C12.resources": "baseline",
        "C12.register": "baseline",
        "C12.import": "baseline",
        "C12.request": "baseline",
    },
    "P5": {
        "P5.ours": None,
        "P5.ours_sync": None,
        "P5.ours_3": None,
        "P5.v002": "peer",
        "P5.v002_3": "peer",
    },
}

# The only excuse for a missing asgi-lifecycle 0.0.2 row: its environment could not be
# built from PyPI (offline). A failure of the peer worker itself fails the test.
OFFLINE = "could not build the asgi-lifecycle 0.0.2 environment"


def available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """One peer environment for all the benchmarks of this module."""
    return tmp_path_factory.mktemp("benchmarks-cache")


def run_benchmark(name: str, out: pathlib.Path, cache_dir: pathlib.Path) -> dict[str, Any]:
    command = [
        sys.executable,
        "-W",
        "error",
        str(RUN),
        "--size",
        "tiny",
        "--only",
        name,
        "--out",
        str(out),
        "--cache-dir",
        str(cache_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    data: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", sorted(ROWS))
def test_benchmark_produces_its_rows(
    name: str, tmp_path: pathlib.Path, cache_dir: pathlib.Path
) -> None:
    """A benchmark run at the tiny size writes every one of its rows, as JSON and Markdown."""
    out = tmp_path / "results"
    data = run_benchmark(name, out, cache_dir)
    [section] = data["sections"]
    assert section["id"] == name
    rows = {row["id"]: row for row in section["rows"]}
    assert set(ROWS[name]) <= set(rows), f"missing rows: {sorted(set(ROWS[name]) - set(rows))}"
    for row_id, needs in ROWS[name].items():
        row = rows[row_id]
        if row["verdict"] == "skipped":
            assert row["note"], f"{row_id} is skipped without a reason"
            if needs == "peer":
                assert row["note"].startswith(OFFLINE), f"{row_id}: {row['note']}"
            elif needs == "baseline":  # a shallow clone may lack the commit compared against
                assert row["note"].startswith("the baseline commit"), f"{row_id}: {row['note']}"
            else:
                assert needs is not None, f"{row_id} is ours and is never skipped: {row['note']}"
                assert not available(needs), f"{row_id} skipped, yet {needs} imports: {row['note']}"
        else:
            assert isinstance(row["value"], int | float), f"{row_id} has no value"
            assert row["verdict"] in ("pass", "within noise", "MISS", "info")
    markdown = (out / "results.md").read_text(encoding="utf-8")
    assert f"## {section['title']}" in markdown
    for row in section["rows"]:
        assert row["case"].replace("|", "\\|") in markdown
    assert data["machine"]["cpu"]
    assert data["machine"]["python"]
    assert (out / "results.png").is_file() == available("matplotlib")
