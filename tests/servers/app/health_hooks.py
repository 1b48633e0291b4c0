"""The hooks every health test app shares: a slow startup, a check the test can fail.

Flag files in ``$HEALTH_DIR`` steer it while it runs: ``start`` lets the startup finish,
``fail`` makes the database check raise (with a DSN in its message, which a public
response must not show), ``finish`` lets the in-flight ``/slow`` request answer. Probes
are also served by a `HealthServer` on ``$HEALTH_PORT``, which answers from the first hook
on. ``$HEALTH_TOKEN`` is the token each app gives its adapter's endpoint.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

from asgi_lifecycle import HealthServer, Lifespan

FLAGS = Path(os.environ["HEALTH_DIR"])
TOKEN = os.environ["HEALTH_TOKEN"]
SECRET = "postgres://admin:hunter2@db.internal:5432/shop"
WAIT = 30.0  # a bound on every wait for a flag, never expected to run out

hooks = Lifespan()
hooks.configure(health_ttl=0)
probes = HealthServer(hooks, port=int(os.environ["HEALTH_PORT"]), host="127.0.0.1").install()


def record(event: str) -> None:
    """Append one event line for the test to read back."""
    with (FLAGS / "events").open("a") as events:
        events.write(f"{event}\n")


async def flag(name: str) -> None:
    """Wait (bounded) until the test creates the flag file."""
    deadline = time.monotonic() + WAIT
    while not (FLAGS / name).exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


async def ping(loop: asyncio.AbstractEventLoop) -> None:
    """Fail, naming a DSN, while the ``fail`` flag exists; fail off the run's loop."""
    if asyncio.get_running_loop() is not loop:
        # As a pool made at startup would: its connections belong to the run's loop.
        raise RuntimeError("the check ran on another event loop than its resource")
    if (FLAGS / "fail").exists():
        raise ConnectionError(f"cannot reach {SECRET}")


@hooks.resource(name="database", check=ping, timeout=WAIT + 5)
async def database() -> AsyncIterator[asyncio.AbstractEventLoop]:
    """A slow startup: ready only once the test says so. Its value is the run's loop."""
    record("startup waiting")
    await flag("start")
    yield asyncio.get_running_loop()


async def slow() -> str:
    """An in-flight request: it answers once the test says so, with the state it saw then."""
    record("slow started")
    await flag("finish")
    return hooks.state().value
