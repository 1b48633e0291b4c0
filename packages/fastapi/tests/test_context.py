"""The run's context in handlers: the FastAPI dependency and get_context()."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from asgi_lifecycle import LifecycleError, Lifespan, LifespanContext
from asgi_lifecycle_fastapi import LifecycleContext, get_context, lifespan


def test_the_dependency_gives_the_context(hooks: Lifespan) -> None:
    """A FastAPI handler parameter typed LifecycleContext receives the run's context."""
    app = FastAPI(
        lifespan=lifespan(
            service_type="api", environment="staging", config={"db": {"size": 5}}, lifespan=hooks
        )
    )

    @app.get("/context")
    async def show(context: LifecycleContext) -> dict[str, Any]:
        assert isinstance(context, LifespanContext)
        return {
            "service_type": context.service_type,
            "environment": context.environment,
            "size": context.get_config("db.size"),
            "database": context.state["database"],
        }

    with TestClient(app) as client:
        body = client.get("/context").json()
    assert body == {"service_type": "api", "environment": "staging", "size": 5, "database": "pool"}


def test_the_dependency_works_in_sync_handlers_and_websockets(hooks: Lifespan) -> None:
    """The dependency works in a sync handler and in a websocket handler."""
    app = FastAPI(lifespan=lifespan(service_type="api", lifespan=hooks))

    @app.get("/sync")
    def sync(context: LifecycleContext) -> str:
        return context.service_type

    @app.websocket("/ws")
    async def socket(websocket: WebSocket, context: LifecycleContext) -> None:
        await websocket.accept()
        await websocket.send_text(context.state["database"])
        await websocket.close()

    with TestClient(app) as client:
        assert client.get("/sync").json() == "api"
        with client.websocket_connect("/ws") as websocket:
            assert websocket.receive_text() == "pool"


def test_the_context_is_the_runs_own(hooks: Lifespan) -> None:
    """Handlers of every request get the same context object, the one the hooks received."""
    seen: list[LifespanContext] = []

    @hooks.on_start(name="remember")
    def remember(context: LifespanContext) -> None:
        seen.append(context)

    app = FastAPI(lifespan=lifespan(lifespan=hooks))

    @app.get("/same")
    async def same(context: LifecycleContext) -> bool:
        return context is seen[0]

    with TestClient(app) as client:
        assert client.get("/same").json() is True
        assert client.get("/same").json() is True


def test_get_context_in_a_starlette_handler(hooks: Lifespan) -> None:
    """get_context(request) gives a plain Starlette handler the run's context."""

    async def show(request: Request) -> JSONResponse:
        return JSONResponse(get_context(request).service_type)

    app = Starlette(
        routes=[Route("/context", show)], lifespan=lifespan(service_type="api", lifespan=hooks)
    )
    with TestClient(app) as client:
        assert client.get("/context").json() == "api"


def test_no_context_without_the_lifespan() -> None:
    """Without this adapter's lifespan, the dependency raises an error saying how to fix it."""

    @contextlib.asynccontextmanager
    async def plain(app: object) -> AsyncIterator[dict[str, int]]:
        yield {"x": 1}

    app = FastAPI(lifespan=plain)

    @app.get("/context")
    async def show(context: LifecycleContext) -> str:
        return context.service_type  # pragma: no cover - the dependency fails

    with (
        TestClient(app) as client,
        pytest.raises(LifecycleError, match=r"no asgi-lifecycle context.*install\(app\)"),
    ):
        client.get("/context")


@pytest.mark.anyio
async def test_a_server_without_state_runs_hooks_that_publish_nothing() -> None:
    """Under a server that sends lifespan without state, hooks that publish nothing still run."""
    quiet = Lifespan()
    ran: list[str] = []
    quiet.on_start(name="quiet")(lambda: ran.append("started"))
    app = FastAPI(lifespan=lifespan(service_type="api", lifespan=quiet))

    @app.get("/context")
    async def show(context: LifecycleContext) -> str:
        return context.service_type

    sent: list[dict[str, Any]] = []
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    inbox.put_nowait({"type": "lifespan.startup"})

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: Any) -> None:
        sent.append(message)

    lifespan_task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}},
                                            receive, send))  # fmt: skip
    while not sent:
        await asyncio.sleep(0.001)
    assert sent == [{"type": "lifespan.startup.complete"}]
    assert ran == ["started"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/context")).json() == "api"
    inbox.put_nowait({"type": "lifespan.shutdown"})
    await asyncio.wait_for(lifespan_task, 5)
    assert sent[-1] == {"type": "lifespan.shutdown.complete"}
