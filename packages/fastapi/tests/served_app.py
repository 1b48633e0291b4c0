"""The FastAPI app that test_uvicorn serves with a real uvicorn; its hooks log to a file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from asgi_lifecycle import Lifespan
from asgi_lifecycle_fastapi import LifecycleContext, lifespan

hooks = Lifespan()


def record(event: str) -> None:
    """Append one event to the file the test reads back."""
    with open(os.environ["SERVED_APP_EVENTS"], "a", encoding="utf-8") as events:
        events.write(event + "\n")


@hooks.resource(name="database")
async def database() -> AsyncIterator[str]:
    """Publish a stand-in for a connection pool."""
    record("database up")
    yield "pool"
    record("database down")


@hooks.on_start(name="check_broker", priority=1)
def check_broker() -> None:
    """Fail when the test asks for a failing critical hook."""
    if os.environ.get("SERVED_APP_FAIL"):
        raise ConnectionError("broker unreachable")
    record("broker checked")


@hooks.on_shutdown(name="flush", priority=1)
async def flush() -> None:
    """Stand in for flushing buffers at shutdown."""
    record("flushed")


@asynccontextmanager
async def app_lifespan(app: FastAPI) -> AsyncIterator[dict[str, str]]:
    """The application's own lifespan, run inside the hooks."""
    record("app up")
    yield {"cache": "redis"}
    record("app down")


app = FastAPI(lifespan=lifespan(service_type="api", lifespan=hooks, wraps=app_lifespan))


@app.get("/items")
async def items(request: Request, context: LifecycleContext) -> dict[str, Any]:
    """Show what a handler gets from the lifespan."""
    return {
        "database": request.state.database,
        "cache": request.state.cache,
        "service_type": context.service_type,
    }
