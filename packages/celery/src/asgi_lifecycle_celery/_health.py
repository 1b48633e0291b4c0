"""The readiness file of a worker: each process that runs the hooks keeps one while ready.

A worker serves no HTTP, so its probe is a file. Every process that runs the
worker's lifespan (each prefork pool child, or the one process of a solo,
threads, gevent or eventlet worker) keeps ``<path>.<pid>``: written while its
run is ``ready`` and every critical check passes, rewritten every ``interval``
seconds, removed as soon as it is not (a failing check, draining, stopped).
The worker's main process removes them all, and writes ``<path>.stopping``, as
soon as a warm shutdown begins (SIGTERM), and clears old files when it starts.
``python -m asgi_lifecycle_celery.probe <path>`` reads them (see `probe`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from celery import Celery, signals

from asgi_lifecycle import LifecycleState, Lifespan, LifespanContext

__all__ = ("CHECK_TIMEOUT", "POLL", "HealthFile", "process_files", "stopping_marker")

logger = logging.getLogger("asgi_lifecycle.celery")

POLL = 0.1
"""Seconds between two looks at the run's state (a state change is seen this fast)."""

CHECK_TIMEOUT = 10.0
"""Seconds the run's loop has to answer a readiness check before it counts as failed."""


def stopping_marker(path: Path) -> Path:
    """The file the worker's main process writes when its shutdown begins."""
    return path.with_name(f"{path.name}.stopping")


def process_files(path: Path) -> list[tuple[int, Path]]:
    """The ``(pid, file)`` of every process readiness file of ``path``."""
    found = []
    for candidate in path.parent.glob(f"{path.name}.*"):
        suffix = candidate.name[len(path.name) + 1 :]
        if suffix.isdigit():
            found.append((int(suffix), candidate))
    return sorted(found)


def _remove(file: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        file.unlink()


class HealthFile:
    """Keeps the readiness files of one Celery app's workers; made by ``install(health_file=)``.

    Args:
        app: The Celery app.
        lifespan: The worker's `Lifespan`.
        path: The readiness file's path (each process adds ``.<pid>``).
        service_type: The worker's service type (its processes keep a file).
        interval: Seconds between two readiness checks (and rewrites of the file).
    """

    def __init__(
        self,
        app: Celery,
        lifespan: Lifespan,
        path: str | os.PathLike[str],
        *,
        service_type: str,
        interval: float = 2.0,
    ) -> None:
        if not isinstance(path, str | os.PathLike) or not os.fspath(path):
            raise TypeError(
                f"asgi_lifecycle_celery.install(health_file=...) must be a file path such as "
                f"'/run/celery/ready', or None; got {path!r}"
            )
        self.app = app
        self.lifespan = lifespan
        self.path = Path(os.fspath(path)).absolute()
        self.service_type = service_type
        self.interval = interval
        self._main_pid: int | None = None
        if not self.path.parent.is_dir():
            raise ValueError(
                f"asgi_lifecycle_celery.install(health_file={os.fspath(path)!r}): the folder "
                f"{str(self.path.parent)!r} does not exist; create it (an emptyDir volume in "
                f"Kubernetes) or pick a path in an existing one"
            )

    def install(self) -> None:
        """Register the resource that keeps a process's file, and the worker's signals."""
        self.lifespan.add_resource(
            self._keep,
            name=f"asgi_lifecycle_celery.health_file[{self.path.name}]",
            priority=-sys.maxsize - 1,
            service_types=self.service_type,
        )
        uid = f"asgi_lifecycle_celery.health_file:{id(self.app)}"
        signals.worker_init.connect(self._on_worker_init, weak=False, dispatch_uid=uid)
        signals.worker_shutting_down.connect(self._on_shutting_down, weak=False, dispatch_uid=uid)

    # -- the worker's main process ----------------------------------------------------

    def _on_worker_init(self, sender: Any = None, **kwargs: Any) -> None:
        if getattr(sender, "app", None) is not self.app:
            return
        # Files of an earlier run of this container (a volume survives a restart).
        _remove(stopping_marker(self.path))
        for _, file in process_files(self.path):
            _remove(file)
        self._main_pid = os.getpid()

    def _on_shutting_down(self, sender: Any = None, **kwargs: Any) -> None:
        if self._main_pid != os.getpid():
            return
        # Readiness off at once, while the tasks in flight finish: children see the marker.
        stopping_marker(self.path).write_text(f"{os.getpid()}\n")
        for _, file in process_files(self.path):
            _remove(file)

    # -- each process that runs the worker's lifespan ---------------------------------

    async def _keep(self, context: LifespanContext) -> AsyncIterator[None]:
        own = self.path.with_name(f"{self.path.name}.{os.getpid()}")
        stop = threading.Event()
        key = (context.service_type, context.environment)
        thread = threading.Thread(
            target=self._refresh, args=(own, key, stop), name="asgi-lifecycle-health-file",
            daemon=True,
        )  # fmt: skip
        thread.start()
        try:
            yield
        finally:
            stop.set()
            await asyncio.to_thread(thread.join, CHECK_TIMEOUT + 1)
            _remove(own)

    def _refresh(self, own: Path, key: tuple[str, str], stop: threading.Event) -> None:
        next_check = 0.0
        marker = stopping_marker(self.path)
        while not stop.is_set():
            if self.lifespan.state(*key) is not LifecycleState.READY or marker.exists():
                _remove(own)
                next_check = 0.0
            elif time.monotonic() >= next_check:
                next_check = time.monotonic() + self.interval
                body = self._check(key)
                still = self.lifespan.state(*key) is LifecycleState.READY
                if body is not None and still and not marker.exists():
                    partial = own.with_name(f".{own.name}.partial")
                    partial.write_text(body)
                    os.replace(partial, own)
                else:
                    _remove(own)
            stop.wait(POLL)

    def _check(self, key: tuple[str, str]) -> str | None:
        """The public report if the run is ready (checks run on the run's loop), else None."""
        loop = self.lifespan.loop(*key)
        if loop is None or loop.is_closed():
            return None
        future = asyncio.run_coroutine_threadsafe(self.lifespan.health(*key), loop)
        try:
            report = future.result(CHECK_TIMEOUT)
        except Exception:
            future.cancel()
            logger.warning(
                "asgi_lifecycle_celery: the readiness check of %r did not answer within %g s",
                key[0], CHECK_TIMEOUT,
            )  # fmt: skip
            return None
        return report.to_json() if report.ok else None
