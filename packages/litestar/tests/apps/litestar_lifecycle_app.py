"""A Litestar app served by a real server in the subprocess tests.

Every hook appends a line to the file named by $LIFECYCLE_EVENTS. With
$LIFECYCLE_FAIL set, a critical startup hook fails.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State

from asgi_lifecycle import LifespanContext, lifespan
from asgi_lifecycle_litestar import LifecycleContext, LifecyclePlugin


def record(event: str) -> None:
    with open(os.environ["LIFECYCLE_EVENTS"], "a", encoding="utf-8") as file:
        file.write(f"{event}\n")


@lifespan.resource(priority=0)
async def db(context: LifespanContext) -> AsyncIterator[dict[str, Any]]:
    record(f"db setup {context.service_type}")
    yield {"url": context.get_config("db.url")}
    record("db teardown")


@lifespan.on_start(priority=1)
def warm_cache() -> None:
    record("warm_cache start")


@lifespan.on_shutdown(priority=1)
async def flush() -> None:
    record("flush stop")


if os.environ.get("LIFECYCLE_FAIL"):

    @lifespan.on_start(priority=2)
    async def connect_broker() -> None:
        record("connect_broker start")
        raise RuntimeError("broker unreachable at amqp://broker:5672")


@get("/items", sync_to_thread=False)
def items(state: State, lifecycle_context: LifecycleContext) -> dict[str, Any]:
    return {
        "db": state.db,
        "service_type": lifecycle_context.service_type,
        "environment": lifecycle_context.environment,
    }


app = Litestar(
    route_handlers=[items],
    plugins=[LifecyclePlugin(service_type="api", config={"db": {"url": "sqlite://"}})],
)
