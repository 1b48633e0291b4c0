"""The application every server test serves: hooks that record what they do in a log file.

The servers import it by name (``lifecycle_app:app``), so its directory is put on their
``PYTHONPATH``. Its behaviour comes from environment variables, read at import time:

- ``LIFECYCLE_LOG``: the file each hook, and each request, appends one line to.
- ``LIFECYCLE_FAIL``: if set, a critical startup hook ``failing_hook`` raises with this text.
- ``LIFECYCLE_HANG``: if set, a startup hook ``hanging_hook`` never returns, and has a timeout
  of this many seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

from asgi_lifecycle import Lifespan, LifespanMiddleware
from asgi_lifecycle.types import Receive, Scope, Send

LOG = Path(os.environ["LIFECYCLE_LOG"])
GREETING = "hello from the lifespan state"

lifespan = Lifespan()


def record(event: str) -> None:
    """Append one line, ``<pid> <event>``, to the log: one short write, whole in O_APPEND mode."""
    with LOG.open("a") as log:
        log.write(f"{os.getpid()} {event}\n")


@lifespan.on_start(name="first")
async def first() -> None:
    record("start first")


@lifespan.on_shutdown(name="stop_first")
def stop_first() -> None:
    record("stop first")


@lifespan.resource(name="greeting")
async def greeting() -> AsyncIterator[str]:
    record("setup greeting")
    yield GREETING
    record("teardown greeting")


if "LIFECYCLE_FAIL" in os.environ:

    @lifespan.on_start(name="failing_hook")
    def failing_hook() -> None:
        raise RuntimeError(os.environ["LIFECYCLE_FAIL"])


if "LIFECYCLE_HANG" in os.environ:

    @lifespan.on_start(name="hanging_hook", timeout=float(os.environ["LIFECYCLE_HANG"]))
    async def hanging_hook() -> None:
        record("start hanging_hook")
        await asyncio.Event().wait()


@lifespan.on_start(name="last")
def last() -> None:
    record("start last")


@lifespan.on_shutdown(name="stop_last")
async def stop_last() -> None:
    record("stop last")


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with the greeting the lifespan state holds, as JSON."""
    if scope["type"] != "http":
        return
    record("request")
    state = scope.get("state") or {}
    body = json.dumps({"greeting": state.get("greeting"), "pid": os.getpid()}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = LifespanMiddleware(endpoint, lifespan=lifespan, service_type="web")
