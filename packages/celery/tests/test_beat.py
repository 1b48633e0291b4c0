"""A real ``celery beat`` process runs the scheduler's hooks."""

from __future__ import annotations

import time

from ._harness import WAIT, Harness, of


def test_beat_runs_the_scheduler_hooks_and_stops_them(harness: Harness) -> None:
    """Beat runs the hooks of its own service type in its process and stops them on SIGTERM."""
    beat = harness.start_beat()
    events = beat.wait_for("beat's startup", lambda ev: len(of(ev, "startup")) == 1)
    (startup,) = of(events, "startup")
    assert startup["pid"] == beat.pid
    assert startup["service_type"] == "scheduler"
    assert startup["process"] == "beat"

    deadline = time.monotonic() + WAIT
    while not any(harness.queue.iterdir()):
        assert time.monotonic() < deadline, f"beat sent nothing\n{beat.output()}"
        time.sleep(0.05)

    assert beat.stop() == 0
    (shutdown,) = of(harness.events(), "shutdown")
    assert shutdown["pid"] == beat.pid
    assert shutdown["service_type"] == "scheduler"


def test_failing_scheduler_hook_stops_beat(harness: Harness) -> None:
    """A critical scheduler hook that fails makes beat exit with status 1 and its error."""
    beat = harness.start_beat(fail="scheduler")
    status = beat.wait_exit()
    output = beat.output()
    assert status == 1, output
    assert "RuntimeError: database unreachable" in output
    assert not any(harness.queue.iterdir())
    assert not of(harness.events(), "shutdown")
