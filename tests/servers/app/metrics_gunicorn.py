"""gunicorn's configuration for ``metrics_app``: ``gunicorn --config python:metrics_gunicorn``.

When a worker exits, its live gauges (the lifecycle state, readiness) leave the sums.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import multiprocess


def child_exit(server: Any, worker: Any) -> None:
    """Drop the gauges of a worker that exited (gunicorn calls this in its master)."""
    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
