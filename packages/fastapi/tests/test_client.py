"""LifespanClient: the app under TestClient and httpx.AsyncClient with its lifespan run."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient as FastAPITestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from asgi_lifecycle import LifecycleError, Lifespan, StartupFailed
from asgi_lifecycle.types import Message, Receive, Scope, Send
from asgi_lifecycle_fastapi import LifespanClient, lifespan

AppFactory = Callable[..., Starlette]


def test_with_gives_a_started_test_client(
    make_app: AppFactory, hooks: Lifespan, events: list[str]
) -> None:
    """``with LifespanClient(app)`` gives a TestClient whose app has started, state present."""
    app = make_app(lifespan=lifespan(service_type="api", lifespan=hooks))
    runner = LifespanClient(app)
    with runner as client:
        assert isinstance(client, TestClient)
        assert events[:2] == ["database up", "hooks up (api)"]
        assert client.get("/state").json()["state"] == {"database": "pool"}
        assert runner.state["database"] == "pool"
        assert runner.context.service_type == "api"
    assert events[-2:] == ["hooks down", "database down"]


def test_fastapis_own_test_client_runs_the_hooks(hooks: Lifespan, events: list[str]) -> None:
    """FastAPI's TestClient, used with ``with``, runs the hooks and hands requests their state."""
    app = FastAPI(lifespan=lifespan(service_type="api", lifespan=hooks))

    @app.get("/database")
    async def database(request: Request) -> str:
        return str(request.state.database)

    with FastAPITestClient(app) as client:
        assert client.get("/database").json() == "pool"
        assert client.app_state["database"] == "pool"
    assert events == ["database up", "hooks up (api)", "hooks down", "database down"]


@pytest.mark.anyio
async def test_async_with_gives_a_started_async_client(
    make_app: AppFactory, hooks: Lifespan, events: list[str]
) -> None:
    """``async with LifespanClient(app)`` runs the lifespan on this loop around an AsyncClient."""
    app = make_app(lifespan=lifespan(service_type="api", lifespan=hooks))
    runner = LifespanClient(app, base_url="http://example.org")
    async with runner as client:
        assert isinstance(client, httpx.AsyncClient)
        assert events[:2] == ["database up", "hooks up (api)"]
        response = await client.get("/state")
        assert response.json()["state"] == {"database": "pool"}
        assert str(response.url) == "http://example.org/state"
        assert runner.context.state is runner.context.state
        assert runner.context.state["database"] == "pool"
    assert events[-2:] == ["hooks down", "database down"]


@pytest.mark.anyio
async def test_each_request_gets_a_copy_of_the_state(make_app: AppFactory, hooks: Lifespan) -> None:
    """A request that rebinds a state key does not change what the next request sees."""

    async def rebind(request: Request) -> PlainTextResponse:
        before = request.state.database
        request.state.database = "rebound"
        return PlainTextResponse(before)

    app = make_app(lifespan=lifespan(lifespan=hooks))
    app.add_route("/rebind", rebind)
    async with LifespanClient(app) as client:
        assert (await client.get("/rebind")).text == "pool"
        assert (await client.get("/rebind")).text == "pool"


@pytest.mark.anyio
async def test_a_failed_startup_raises_the_hooks_error(
    make_app: AppFactory, hooks: Lifespan
) -> None:
    """A critical hook's failure surfaces from ``async with`` as StartupFailed naming the hook."""

    @hooks.on_start(name="broken")
    async def broken() -> None:
        raise ConnectionError("db down")

    runner = LifespanClient(make_app(lifespan=lifespan(lifespan=hooks)))
    with pytest.raises(StartupFailed, match="'broken' raised ConnectionError: db down"):
        async with runner:
            pass  # pragma: no cover - startup fails
    assert not hooks.is_initialized()
    with pytest.raises(LifecycleError, match="only there inside its with block"):
        _ = runner.state


@pytest.mark.anyio
async def test_a_failed_shutdown_raises(make_app: AppFactory, hooks: Lifespan) -> None:
    """A shutdown hook's failure surfaces when ``async with`` ends."""

    @hooks.on_shutdown(name="flaky")
    def flaky() -> None:
        raise RuntimeError("flush failed")

    with pytest.raises(LifecycleError, match="flaky stop failed"):
        async with LifespanClient(make_app(lifespan=lifespan(lifespan=hooks))):
            pass


@pytest.mark.anyio
async def test_the_blocks_error_wins_over_a_failed_shutdown(
    make_app: AppFactory, hooks: Lifespan, caplog: pytest.LogCaptureFixture
) -> None:
    """When the block raises and the shutdown fails too, the block's error is raised."""

    @hooks.on_shutdown(name="flaky")
    def flaky() -> None:
        raise RuntimeError("flush failed")

    with pytest.raises(KeyError, match="from the test"):
        async with LifespanClient(make_app(lifespan=lifespan(lifespan=hooks))):
            raise KeyError("from the test")
    assert "shutdown failed too" in caplog.text


@pytest.mark.anyio
async def test_an_app_without_lifespan_support_is_reported() -> None:
    """An app that refuses the lifespan scope gets an error, not a silent start."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return
        raise AssertionError("not reached")  # pragma: no cover

    with pytest.raises(LifecycleError, match="does not support the ASGI lifespan protocol"):
        async with LifespanClient(app):
            pass  # pragma: no cover - startup fails


@pytest.mark.anyio
async def test_an_app_answering_startup_failed_without_raising_is_reported() -> None:
    """An app that answers startup.failed and returns quietly still fails the block."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        failed: Message = {"type": "lifespan.startup.failed", "message": "no database"}
        await send(failed)

    with pytest.raises(LifecycleError, match="startup failed: no database"):
        async with LifespanClient(app):
            pass  # pragma: no cover - startup fails


@pytest.mark.anyio
async def test_one_runner_serves_one_block_at_a_time(
    make_app: AppFactory, registry: Lifespan
) -> None:
    """Entering a LifespanClient that is in use is refused; after the block it can serve again."""
    runner = LifespanClient(make_app(lifespan=lifespan(lifespan=registry)))
    async with runner:
        with pytest.raises(LifecycleError, match="already in use"), runner:
            pass  # pragma: no cover - refused
    async with runner as client:
        assert (await client.get("/state")).status_code == 200


def test_the_app_must_be_callable() -> None:
    """LifespanClient refuses something that is no ASGI app."""
    with pytest.raises(TypeError, match="needs an ASGI application"):
        LifespanClient("main:app")  # type: ignore[arg-type]
