"""A real worker's readiness file and probe command, from startup to a warm shutdown."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ._harness import WAIT, CeleryProcess, Harness, of


def probe(path: Path) -> tuple[int, str]:
    """Run ``python -m asgi_lifecycle_celery.probe path``: its exit status and output."""
    result = subprocess.run(
        [sys.executable, "-m", "asgi_lifecycle_celery.probe", str(path)],
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def probe_until(worker: CeleryProcess, path: Path, status: int) -> str:
    """Poll the probe until it exits with ``status``; return its output then."""
    deadline = time.monotonic() + WAIT
    while True:
        code, output = probe(path)
        if code == status:
            return output
        if time.monotonic() > deadline:
            pytest.fail(
                f"the probe did not exit {status} within {WAIT} s: {output}\n{worker.output()}"
            )
        time.sleep(0.1)


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_probe_follows_the_worker(harness: Harness, pool: str) -> None:
    """The probe exits 0 once the worker is ready, 1 while a critical check fails and as soon as a warm shutdown begins."""  # noqa: E501
    path = harness.data / "ready"
    worker = harness.start_worker(pool, 2, env={"ALC_TEST_HEALTH_FILE": str(path)})
    assert "ready" in probe_until(worker, path, 0)

    (harness.data / "fail-check").touch()
    output = probe_until(worker, path, 1)
    assert "no process of the worker is ready" in output
    assert "s3cret" not in "".join(p.read_text() for p in path.parent.glob("ready.*"))
    (harness.data / "fail-check").unlink()
    probe_until(worker, path, 0)

    harness.send("gated")
    worker.wait_for("the task running", lambda events: bool(of(events, "gated-start")))
    worker.proc.send_signal(signal.SIGTERM)
    output = probe_until(worker, path, 1)
    assert "shutting down" in output
    assert not of(harness.events(), "gated-done"), "the task ended before readiness turned off"
    (harness.data / "release").touch()
    assert worker.wait_exit() == 0, worker.output()
    assert of(harness.events(), "gated-done")
    assert probe(path)[0] == 1
    assert not list(path.parent.glob("ready.[0-9]*"))


def test_probe_without_a_worker_is_not_ready(tmp_path: Path) -> None:
    """With no worker keeping the file, the probe exits 1 and says why."""
    code, output = probe(tmp_path / "ready")
    assert code == 1
    assert "no process of the worker is ready" in output


def test_a_health_file_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    """install(health_file=...) in a folder that does not exist fails at once, naming it."""
    from celery import Celery

    from asgi_lifecycle import Lifespan
    from asgi_lifecycle_celery import install

    app = Celery("health_file_check", set_as_current=False)
    with pytest.raises(ValueError, match="does not exist"):
        install(app, lifespan=Lifespan(), health_file=tmp_path / "missing" / "ready")
