"""The application of the reliability suite: hooks that are slow, hang or fail on request.

Servers import it by name (``reliability_app:app``). Environment variables, read at
import time, shape it:

- ``RELIABILITY_LOG``: the file every hook appends ``<pid> <event>`` lines to.
- ``RELIABILITY_SLOW``: a startup hook of phase 1 that takes this many seconds, and is
  ``async`` (``RELIABILITY_KIND=async``, the default), ``sync`` (a plain function, run in a
  thread) or ``concurrent`` (two async hooks of one phase, ``concurrent=True``).
- ``RELIABILITY_HANG_START``: a startup hook that never returns, with this ``timeout=``.
- ``RELIABILITY_SLOW_STOP``: a shutdown hook that takes this many seconds.
- ``RELIABILITY_HANG_STOP``: a shutdown hook that never returns; the shutdown budget is
  this many seconds.

``GET /slow`` answers after 2 s with the run's state at that moment; ``GET /`` at once
with the pid, the state, and what the process holds: open file descriptors, threads and
tasks (the reload soak compares them from one cycle to the next).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

from asgi_lifecycle import Lifespan, LifespanMiddleware
from asgi_lifecycle.types import Receive, Scope, Send

LOG = Path(os.environ["RELIABILITY_LOG"])
KIND = os.environ.get("RELIABILITY_KIND", "async")

hang_stop = os.environ.get("RELIABILITY_HANG_STOP")
lifespan = Lifespan(
    concurrent=KIND == "concurrent",
    shutdown_timeout=float(hang_stop) if hang_stop else 30.0,
)


def record(event: str) -> None:
    """Append one line to the log: one short write, whole in O_APPEND mode."""
    with LOG.open("a") as log:
        log.write(f"{os.getpid()} {event}\n")


@lifespan.resource(name="database", priority=0)
async def database() -> AsyncIterator[None]:
    record("database open")
    yield
    record("database closed")


@lifespan.on_shutdown(name="farewell", priority=0)
def farewell() -> None:
    record("farewell")


if "RELIABILITY_SLOW" in os.environ:
    seconds = float(os.environ["RELIABILITY_SLOW"])
    if KIND == "sync":

        @lifespan.on_start(name="slow", priority=1)
        def slow_sync() -> None:
            record("slow begins")
            time.sleep(seconds)
            record("slow ends")

    else:

        async def slow_async() -> None:
            record("slow begins")
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                record("slow cancelled")
                raise
            record("slow ends")

        lifespan.add_start_hook(slow_async, name="slow", priority=1)
        if KIND == "concurrent":
            lifespan.add_start_hook(slow_async, name="slow_too", priority=1)

if "RELIABILITY_HANG_START" in os.environ:

    @lifespan.on_start(name="hang", priority=1, timeout=float(os.environ["RELIABILITY_HANG_START"]))
    async def hang() -> None:
        record("hang begins")
        await asyncio.Event().wait()


@lifespan.on_start(name="ready", priority=2)
def ready() -> None:
    record("ready")


if "RELIABILITY_SLOW_STOP" in os.environ:

    @lifespan.on_shutdown(name="slow_stop", priority=2)
    async def slow_stop() -> None:
        record("slow_stop begins")
        await asyncio.sleep(float(os.environ["RELIABILITY_SLOW_STOP"]))
        record("slow_stop ends")


if hang_stop:

    @lifespan.on_shutdown(name="hang_stop", priority=2)
    async def hang_on_stop() -> None:
        record("hang_stop begins")
        await asyncio.Event().wait()


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """``/`` answers at once, ``/slow`` after 2 s; both with the pid and the run's state."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        record("slow request begins")
        await asyncio.sleep(2)
    held = {
        "fds": len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else -1,
        "threads": threading.active_count(),
        "tasks": len(asyncio.all_tasks()),
    }
    body = json.dumps({"pid": os.getpid(), "state": str(lifespan.state()), **held}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = LifespanMiddleware(endpoint, lifespan=lifespan, service_type="web")
