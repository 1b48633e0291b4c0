"""An application with Prometheus metrics in multiprocess mode, for gunicorn with two workers.

``PROMETHEUS_MULTIPROC_DIR`` is set before the server starts, so each worker writes its
samples to files there, and ``/metrics`` (answered by any worker) adds up every worker's.
Each hook appends ``<pid> <event>`` to ``LIFECYCLE_LOG``, as in ``lifecycle_app.py``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

from prometheus_client import CollectorRegistry, make_asgi_app, multiprocess

from asgi_lifecycle import Lifespan, LifespanMiddleware
from asgi_lifecycle.prometheus import PrometheusListener
from asgi_lifecycle.types import Receive, Scope, Send

LOG = Path(os.environ["LIFECYCLE_LOG"])

lifespan = Lifespan()
lifespan.add_listener(PrometheusListener())


def record(event: str) -> None:
    """Append one line, ``<pid> <event>``, to the log."""
    with LOG.open("a") as log:
        log.write(f"{os.getpid()} {event}\n")


@lifespan.resource(name="database")
async def database() -> AsyncIterator[None]:
    yield
    record("teardown database")


@lifespan.on_start(name="warm_cache")
async def warm_cache() -> None:
    await asyncio.sleep(0.01)
    record("start warm_cache")


# The exposition: a registry of its own that reads every process's files at each scrape.
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
metrics = make_asgi_app(registry)


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """``/metrics``: the metrics of every worker; anything else: this worker's pid."""
    if scope["type"] != "http":
        return
    if scope["path"] == "/metrics":
        await metrics(scope, receive, send)
        return
    body = str(os.getpid()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


app = LifespanMiddleware(endpoint, lifespan=lifespan, service_type="web")
