"""The readiness probe of a Celery worker: ``python -m asgi_lifecycle_celery.probe <path>``.

It exits 0 when the worker is ready (at least one of its processes keeps a
fresh readiness file, and its shutdown has not begun) and 1 otherwise, printing
why. ``<path>`` is the ``health_file=`` given to `asgi_lifecycle_celery.install`.
It needs no broker and no ``celery inspect``: a Kubernetes ``exec`` probe.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ._health import process_files, stopping_marker

__all__ = ("DEFAULT_MAX_AGE", "main", "readiness")

DEFAULT_MAX_AGE = 10.0
"""Seconds after which a process's file counts as stale (its loop no longer answers)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def readiness(path: str | os.PathLike[str], max_age: float = DEFAULT_MAX_AGE) -> tuple[bool, str]:
    """Whether the worker whose ``health_file`` is ``path`` is ready, and why.

    Args:
        path: The ``health_file=`` of `asgi_lifecycle_celery.install`.
        max_age: Seconds within which a process must have rewritten its file.

    Returns:
        ``(ready, reason)``.
    """
    base = Path(os.fspath(path)).absolute()
    marker = stopping_marker(base)
    if marker.exists():
        return False, f"not ready: the worker is shutting down ({marker} exists)"
    now = time.time()
    fresh: list[int] = []
    stale: list[int] = []
    for pid, file in process_files(base):
        try:
            age = now - file.stat().st_mtime
        except FileNotFoundError:
            continue
        if not _alive(pid):
            continue  # a process that was killed, before it could remove its file
        (fresh if age <= max_age else stale).append(pid)
    if fresh:
        return True, f"ready: {len(fresh)} process(es) ready ({', '.join(map(str, fresh))})"
    if stale:
        return False, (
            f"not ready: the readiness file of process(es) {', '.join(map(str, stale))} is "
            f"older than {max_age:g} s (a blocked event loop?)"
        )
    return False, (
        f"not ready: no process of the worker is ready (no fresh {base}.<pid> file: starting, "
        f"a failing critical check, or stopped)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the probe; return the exit status (0 ready, 1 not ready)."""
    parser = argparse.ArgumentParser(
        prog="python -m asgi_lifecycle_celery.probe",
        description="Exit 0 if the Celery worker keeping this readiness file is ready, else 1.",
    )
    parser.add_argument("path", help="the health_file= given to asgi_lifecycle_celery.install")
    parser.add_argument(
        "--max-age",
        type=float,
        default=DEFAULT_MAX_AGE,
        help=f"seconds within which a process must have rewritten its file ({DEFAULT_MAX_AGE:g})",
    )
    args = parser.parse_args(argv)
    ready, reason = readiness(args.path, args.max_age)
    print(reason)
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
