"""The shop demo runs end to end, as the README says: `hatch run demo`, with its options."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["python", "examples/shop/run.py"]  # what `hatch run demo` runs, from the root
TIMEOUT = 120.0  # the demo takes seconds; this bounds a hung one
PROCESSES = {  # the title of each process's hooks, before its pid
    "inventory": "inventory (Litestar, service type 'inventory'",
    "storefront": "storefront (Django, service type 'app'",
    "api": "api (FastAPI, service type 'api'",
    "beat": "beat (Celery beat, service type 'scheduler'",
}
WORKER = "worker (Celery pool process, service type 'worker'"


@contextlib.contextmanager
def demo(*args: str) -> Iterator[subprocess.Popen[str]]:
    """Start the demo as `hatch run demo` does; stop it, and whatever it started, at the end."""
    # A session of its own, so that a SIGKILL of its group cannot reach the test runner. The
    # demo puts each server in a group of its own and stops them when it gets SIGTERM.
    process = subprocess.Popen(
        [sys.executable, *COMMAND[1:], *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(60.0)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10.0)
        if process.stdout is not None:
            process.stdout.close()


def run_demo(*args: str) -> tuple[int, str]:
    """Run the demo to its end; return its exit status and its output."""
    with demo(*args) as process:
        try:
            output, _ = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the demo did not finish within {TIMEOUT} s")
        return process.returncode, output


def hooks_of(output: str, title: str) -> list[str]:
    """The lines of the hook table under each process title that starts with ``title``."""
    tables = output.split("startup timelines:")[0]
    return re.findall(rf"^{re.escape(title)}, pid \d+\)\n((?:  .*\n)+)", tables, re.MULTILINE)


def phases(table: str) -> list[tuple[str, str]]:
    """The phases of one process's table, each with how its hooks ended ("ok", "1 failed")."""
    return re.findall(r"^  (\w+) +\d+ hooks?, (.+), [\d.]+ ms$", table, re.MULTILINE)


def test_demo_is_the_hatch_demo_script() -> None:
    """`hatch run demo` runs the shop demo from the repository root, passing its options on."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    script = pyproject["tool"]["hatch"]["envs"]["default"]["scripts"]["demo"]

    assert shlex.split(script) == [*COMMAND, "{args}"]


def test_the_documented_command_passes_the_demo_its_options() -> None:
    """`hatch run demo --break readiness`, exactly as the README writes it, breaks the demo."""
    hatch = shutil.which("hatch")
    if hatch is None:
        pytest.skip("hatch is not on PATH (CI runs the tests through hatch, where it is)")
    readme = (ROOT / "README.md").read_text()
    assert "`hatch run demo --break readiness`" in readme
    # Outside the test environment hatch is running: a clean environment, as a user's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HATCH_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != Path(sys.executable).parent
    )
    try:
        result = subprocess.run(
            [hatch, "run", "demo", "--break", "readiness"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT + 240,  # the first run also builds hatch's default environment
            start_new_session=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("`hatch run demo --break readiness` did not finish in time")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "the demo FAILED" in output, output
    assert re.search(r"api pid \d+ refused to start: check_inventory failed", output), output


def test_demo() -> None:
    """Every process runs its hooks, serves, runs the tasks and stops cleanly; the demo exits 0."""
    status, output = run_demo()

    assert status == 0, output
    for title in PROCESSES.values():
        (table,) = hooks_of(output, title)
        assert phases(table) == [("startup", "ok"), ("shutdown", "ok")], output
        assert "database" in table, output
    workers = hooks_of(output, WORKER)
    assert len(workers) == 2, output
    for table in workers:
        assert phases(table) == [("startup", "ok"), ("shutdown", "ok")], output
        for hook in ("database", "http", "register_worker", "deregister_worker"):
            assert hook in table, output
        assert "check_inventory" not in table, output  # a web-only hook of the same module
    (api,) = hooks_of(output, PROCESSES["api"])
    assert "check_inventory" in api, output
    assert "register_worker" not in api, output  # a worker-only hook of the same module
    assert re.search(r"POST api +/orders +202", output), output
    assert re.search(r"GET  api +/orders/1 +200  confirmed by worker process \d+", output), output
    assert "mugs in stock: 10" in output, output
    # A few lines of the orders API's /metrics, from the PrometheusListener of lifecycle.py.
    metrics = output.split("metrics: GET api /metrics")[1].split("\n\n")[0]
    assert '  asgi_lifecycle_state{service_type="api",state="ready"} 1.0' in metrics, output
    assert '  asgi_lifecycle_ready{service_type="api"} 1.0' in metrics, output
    number = r"\d[\d.e+-]*"
    startup = r'outcome="ok",phase="startup",service_type="api"'
    assert re.search(
        rf"asgi_lifecycle_phase_duration_seconds_sum\{{{startup}\}} {number}$", metrics, re.M
    ), output
    check = rf'action="start",hook="lifecycle\.check_inventory",{startup}'
    assert re.search(
        rf"asgi_lifecycle_hook_duration_seconds_sum\{{{check}\}} {number}$", metrics, re.M
    ), output
    assert re.search(r"shop\.stock_report .* run by worker process \d+", output), output
    assert re.search(r"beat +exit status +0  clean", output), output
    # Health before SIGTERM: what each readiness probe answered.
    probes = output.split("readiness probes, before SIGTERM")[1].split("\n\n")[0]
    for name in ("inventory", "storefront", "api"):
        assert re.search(rf"^  {name} +GET /health/ready  200  pass$", probes, re.M), output
    assert re.search(r"worker +python -m asgi_lifecycle_celery.probe  exit 0  ready", probes)
    # During: the worker's probe fails while it drains, before it exits.
    assert re.search(r"worker's probe \+[\d.]+ s after SIGTERM: exit 1  not ready", output), output
    # Before, during and after, per process: ready until SIGTERM, then draining, then stopped.
    health = output.split("health before, during and after SIGTERM")[1].split("\n\n")[0]
    states = re.findall(r"^    (.*)  \| SIGTERM \|  (.*)$", health, re.M)
    assert len(states) == 6, output
    for before, after in states:
        assert re.fullmatch(r"starting -[\d.]+ s, ready -[\d.]+ s", before), output
        assert re.fullmatch(r"draining \+[\d.]+ s, stopped \+[\d.]+ s", after), output
    assert "ok: 6 processes ran their hooks from one module" in output, output


def test_demo_break_readiness() -> None:
    """A missing dependency makes the orders API refuse to start and roll back; the demo exits 1."""
    status, output = run_demo("--break", "readiness")

    assert status == 1, output
    (api,) = hooks_of(output, PROCESSES["api"])
    assert re.search(r"check_inventory +start +failed", api), output
    assert "the inventory service at" in api, output
    assert [phase for phase, _ in phases(api)] == ["startup", "rollback"], output
    rollback = [line.split()[1] for line in api.split("  rollback")[1].splitlines()[1:]]
    # Phase 1 concurrently (the demo's lifespan is concurrent=True), in the order its
    # teardowns finished; phase 0 after it.
    assert sorted(rollback[:2]) == ["catalogue", "http"], output
    assert rollback[2:] == ["database"], output
    assert re.search(r"api pid \d+ refused to start: check_inventory failed", output), output
    assert "the demo FAILED" in output, output


def test_demo_keep_running() -> None:
    """With --keep-running the servers answer until Ctrl-C, then everything stops cleanly."""
    with demo("--keep-running") as process:
        assert process.stdout is not None
        stdout = process.stdout
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            for line in stdout:
                lines.put(line)
            lines.put(None)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        seen: list[str] = []
        deadline = time.monotonic() + TIMEOUT
        while not seen or "press Ctrl-C" not in seen[-1]:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the demo never said it was running:\n{''.join(seen)}")
            assert line is not None, f"the demo ended:\n{''.join(seen)}"
            seen.append(line)
        address = next(line.split()[-1] for line in seen if "storefront (Django)" in line)
        assert httpx.get(address, timeout=10.0).status_code == 200

        process.send_signal(signal.SIGINT)  # Ctrl-C, which a terminal sends to the runner
        status = process.wait(TIMEOUT)
        reader.join(10.0)
    output = "".join(seen) + "".join(iter(lines.get_nowait, None))

    assert status == 0, output
    assert "ok: 6 processes ran their hooks from one module" in output, output
