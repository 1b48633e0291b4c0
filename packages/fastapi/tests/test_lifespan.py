"""The lifespan: composition with the app's own lifespan, state, failures, install()."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from starlette.applications import Starlette
from starlette.testclient import TestClient

from asgi_lifecycle import LifecycleError, Lifespan, StartupFailed
from asgi_lifecycle.types import Message
from asgi_lifecycle_fastapi import AppLifespan, LifecycleContext, LifespanClient, install, lifespan

AppFactory = Callable[..., Starlette]


def app_lifespans(events: list[str], state: Mapping[str, Any] | None) -> dict[str, AppLifespan]:
    """The application's own lifespan in each shape FastAPI accepts, each yielding ``state``."""

    @contextlib.asynccontextmanager
    async def context_manager(app: object) -> AsyncIterator[Any]:
        events.append("app up")
        try:
            yield state
        finally:
            events.append("app down")

    async def async_generator(app: object) -> AsyncIterator[Any]:
        events.append("app up")
        try:
            yield state
        finally:
            events.append("app down")

    def generator(app: object) -> Iterator[Any]:
        events.append("app up")
        try:
            yield state
        finally:
            events.append("app down")

    class Factory:
        """Shaped like FastAPI's own default lifespan: a callable returning an async CM."""

        def __call__(self, app: object) -> contextlib.AbstractAsyncContextManager[Any]:
            return context_manager(app)

    return {
        "asynccontextmanager": context_manager,
        "async generator": async_generator,
        "generator": generator,
        "factory": Factory(),
    }


SHAPES = ("asynccontextmanager", "async generator", "generator", "factory")


@pytest.mark.parametrize("shape", SHAPES)
def test_app_lifespan_runs_inside_the_hooks(
    shape: str, make_app: AppFactory, hooks: Lifespan, events: list[str]
) -> None:
    """The app's own lifespan starts after the hooks and stops before them, in every shape."""
    wrapped = app_lifespans(events, None)[shape]
    app = make_app(lifespan=lifespan(service_type="api", lifespan=hooks, wraps=wrapped))
    with TestClient(app) as client:
        assert client.get("/state").json()["state"] == {"database": "pool"}
    assert events == [
        "database up",
        "hooks up (api)",
        "app up",
        "app down",
        "hooks down",
        "database down",
    ]


@pytest.mark.parametrize("shape", SHAPES)
def test_state_of_both_reaches_request_state(
    shape: str, make_app: AppFactory, hooks: Lifespan, events: list[str]
) -> None:
    """The state the hooks publish and the state the app's lifespan yields both reach requests."""
    wrapped = app_lifespans(events, {"cache": "redis"})[shape]
    app = make_app(lifespan=lifespan(service_type="api", lifespan=hooks, wraps=wrapped))
    with TestClient(app) as client:
        body = client.get("/state").json()
    assert body["state"] == {"database": "pool", "cache": "redis"}
    assert body["service_type"] == "api"


def test_state_without_an_app_lifespan(make_app: AppFactory, hooks: Lifespan) -> None:
    """Without an app lifespan, the hooks' state alone reaches requests."""
    app = make_app(lifespan=lifespan(lifespan=hooks, environment="staging"))
    with TestClient(app) as client:
        body = client.get("/state").json()
    assert body == {"state": {"database": "pool"}, "service_type": "app", "environment": "staging"}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_key_both_publish_is_an_error(
    shape: str, make_app: AppFactory, hooks: Lifespan, events: list[str]
) -> None:
    """A state key published by a hook and by the app's lifespan fails startup, naming the key."""
    wrapped = app_lifespans(events, {"database": "other", "cache": "redis"})[shape]
    app = make_app(lifespan=lifespan(lifespan=hooks, wraps=wrapped))
    with pytest.raises(LifecycleError, match=r"'database'.*rename one of them"), TestClient(app):
        pass  # pragma: no cover - startup fails
    assert events[-3:] == ["app down", "hooks down", "database down"]


def test_an_app_lifespan_yielding_no_mapping_is_an_error(
    make_app: AppFactory, registry: Lifespan
) -> None:
    """An app lifespan that yields something else than None or a mapping gets a clear error."""

    async def odd(app: object) -> AsyncIterator[Any]:
        yield ["not", "a", "mapping"]

    app = make_app(lifespan=lifespan(lifespan=registry, wraps=odd))
    with pytest.raises(TypeError, match="yields None or a mapping"), TestClient(app):
        pass  # pragma: no cover - startup fails


def test_a_failing_critical_hook_stops_startup(
    make_app: AppFactory, hooks: Lifespan, events: list[str]
) -> None:
    """A critical hook that fails stops startup; the app's lifespan never starts."""

    @hooks.on_start(name="broken", priority=5)
    def broken() -> None:
        raise ConnectionError("db down")

    wrapped = app_lifespans(events, None)["asynccontextmanager"]
    app = make_app(lifespan=lifespan(lifespan=hooks, wraps=wrapped))
    with (
        pytest.raises(StartupFailed, match="'broken' raised ConnectionError: db down"),
        TestClient(app),
    ):
        pass  # pragma: no cover - startup fails
    assert "app up" not in events
    assert events[-2:] == ["hooks down", "database down"]


def test_a_failing_app_lifespan_stops_the_hooks(
    make_app: AppFactory, hooks: Lifespan, events: list[str]
) -> None:
    """When the app's own lifespan fails at startup, the hooks that started are stopped."""

    @contextlib.asynccontextmanager
    async def failing(app: object) -> AsyncIterator[None]:
        raise OSError("no cache")
        yield  # pragma: no cover

    app = make_app(lifespan=lifespan(lifespan=hooks, wraps=failing))
    with pytest.raises(OSError, match="no cache"), TestClient(app):
        pass  # pragma: no cover - startup fails
    assert events == ["database up", "hooks up (app)", "hooks down", "database down"]


def test_a_failing_shutdown_hook_fails_the_shutdown(
    make_app: AppFactory, hooks: Lifespan, events: list[str]
) -> None:
    """A shutdown hook that fails is reported as a failed shutdown, after every other hook ran."""

    @hooks.on_shutdown(name="flaky", priority=3)
    def flaky() -> None:
        raise RuntimeError("flush failed")

    app = make_app(lifespan=lifespan(lifespan=hooks))
    with (
        pytest.raises(LifecycleError, match="flaky stop failed: RuntimeError: flush failed"),
        TestClient(app),
    ):
        pass
    assert events[-2:] == ["hooks down", "database down"]


def test_missing_lifespan_state_is_explained(hooks: Lifespan) -> None:
    """A server that sends lifespan without state gets startup.failed saying what is missing."""
    app = Starlette(lifespan=lifespan(lifespan=hooks))
    sent: list[Message] = []

    async def drive() -> None:
        messages = iter([{"type": "lifespan.startup"}])

        async def receive() -> Message:
            return next(messages)

        async def send(message: Message) -> None:
            sent.append(message)

        await app({"type": "lifespan"}, receive, send)

    with pytest.raises(LifecycleError, match="no 'state' in the lifespan scope"):
        asyncio.run(drive())
    assert [m["type"] for m in sent] == ["lifespan.startup.failed"]
    assert "database" in sent[0]["message"]
    assert not hooks.is_initialized()


def test_included_routers_keep_their_lifespans(hooks: Lifespan, events: list[str]) -> None:
    """Routers included in a FastAPI app with our lifespan keep their lifespans and state."""
    first, second = APIRouter(), APIRouter()

    @contextlib.asynccontextmanager
    async def first_lifespan(app: object) -> AsyncIterator[dict[str, str]]:
        events.append("first up")
        yield {"first": "1"}
        events.append("first down")

    @contextlib.asynccontextmanager
    async def second_lifespan(app: object) -> AsyncIterator[dict[str, str]]:
        events.append("second up")
        yield {"second": "2"}
        events.append("second down")

    first = APIRouter(lifespan=first_lifespan)
    second = APIRouter(lifespan=second_lifespan)

    @second.get("/both")
    async def both(request: Request, context: LifecycleContext) -> dict[str, Any]:
        return {
            "first": request.state.first,
            "second": request.state.second,
            "database": request.state.database,
            "service_type": context.service_type,
        }

    app = FastAPI(lifespan=lifespan(service_type="api", lifespan=hooks))
    app.include_router(first)
    app.include_router(second)
    with TestClient(app) as client:
        body = client.get("/both").json()
    assert body == {"first": "1", "second": "2", "database": "pool", "service_type": "api"}
    assert events == [
        "database up",
        "hooks up (api)",
        "first up",
        "second up",
        "second down",
        "first down",
        "hooks down",
        "database down",
    ]


def test_ignored_event_handlers_are_reported(
    registry: Lifespan, events: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Startup handlers and @on_event functions, which FastAPI ignores here, are logged."""

    def warm_up() -> None:
        events.append("warm up")  # pragma: no cover - FastAPI never calls it

    app = FastAPI(lifespan=lifespan(lifespan=registry))
    app.router.add_event_handler("startup", warm_up)
    with pytest.warns(DeprecationWarning, match="on_event is deprecated"):

        @app.on_event("shutdown")
        def goodbye() -> None:
            events.append("goodbye")  # pragma: no cover - FastAPI never calls it

    with caplog.at_level(logging.WARNING, "asgi_lifecycle"), TestClient(app):
        pass
    assert events == []
    (record,) = [r for r in caplog.records if "will NOT run" in r.getMessage()]
    assert "warm_up" in record.getMessage()
    assert "goodbye" in record.getMessage()


def test_install_keeps_event_handlers(
    hooks: Lifespan, events: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """install() runs the hooks around FastAPI's own startup handlers and @on_event functions."""
    app = FastAPI()
    app.router.add_event_handler("startup", lambda: events.append("on_startup"))
    with pytest.warns(DeprecationWarning, match="on_event is deprecated"):

        @app.on_event("shutdown")
        def on_shutdown() -> None:
            events.append("on_shutdown")

    install(app, service_type="api", lifespan=hooks)
    with caplog.at_level(logging.WARNING, "asgi_lifecycle"), TestClient(app) as client:
        assert client.get("/docs").status_code == 200
    assert events == [
        "database up",
        "hooks up (api)",
        "on_startup",
        "on_shutdown",
        "hooks down",
        "database down",
    ]
    assert not [r for r in caplog.records if "will NOT run" in r.getMessage()]


def test_install_wraps_the_apps_lifespan(
    make_app: AppFactory, hooks: Lifespan, events: list[str]
) -> None:
    """install() on an app built with lifespan= keeps that lifespan, inside the hooks."""
    wrapped = app_lifespans(events, {"cache": "redis"})["asynccontextmanager"]
    app = make_app(lifespan=wrapped)
    install(app, lifespan=hooks)
    with LifespanClient(app) as client:
        assert client.get("/state").json()["state"] == {"database": "pool", "cache": "redis"}
    assert events[1:-1] == ["hooks up (app)", "app up", "app down", "hooks down"]


def test_install_twice_the_same_way_is_harmless(
    make_app: AppFactory, hooks: Lifespan, events: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Installing twice with the same settings does nothing the second time, and says so."""
    app = make_app()
    install(app, lifespan=hooks)
    with caplog.at_level(logging.INFO, "asgi_lifecycle"):
        install(app, lifespan=hooks)
    assert "already installed" in caplog.text
    with TestClient(app):
        pass
    assert events.count("hooks up (app)") == 1


def test_install_twice_another_way_is_an_error(make_app: AppFactory, registry: Lifespan) -> None:
    """Installing again with other settings is refused."""
    app = make_app()
    install(app, lifespan=registry)
    with pytest.raises(LifecycleError, match="with other settings"):
        install(app, service_type="worker", lifespan=registry)


def test_install_refuses_what_is_not_an_app() -> None:
    """install() on something that is no Starlette or FastAPI app names what it needs."""
    with pytest.raises(TypeError, match="needs a FastAPI or Starlette application"):
        install(object())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lifespan": "default"}, r"lifespan=\.\.\.\) needs an asgi_lifecycle\.Lifespan"),
        ({"wraps": "my_lifespan"}, r"wraps=\.\.\.\) takes the application's own lifespan"),
        ({"sync_runner": 3}, r"sync_runner=\.\.\.\) must be callable"),
        ({"service_type": ""}, r"service_type=\.\.\.\) must be a non-empty string"),
        ({"config": ["a"]}, r"config=\.\.\.\) must be a mapping"),
    ],
)
def test_bad_arguments_fail_at_once(options: dict[str, Any], message: str) -> None:
    """A wrong argument is refused when the lifespan is built, not at startup."""
    with pytest.raises(TypeError, match=message):
        lifespan(**options)


def test_a_wrapped_callable_returning_no_context_manager_is_an_error(
    make_app: AppFactory, registry: Lifespan
) -> None:
    """A wraps= callable that returns no async context manager fails startup with a clear error."""
    app = make_app(lifespan=lifespan(lifespan=registry, wraps=lambda app: None))  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="not an async context manager"), TestClient(app):
        pass  # pragma: no cover - startup fails


def test_the_lifespan_describes_itself(registry: Lifespan) -> None:
    """The lifespan's repr names its service type and the lifespan it wraps."""

    async def mine(app: object) -> AsyncIterator[None]:
        yield  # pragma: no cover

    text = repr(lifespan(service_type="api", lifespan=registry, wraps=mine))
    assert "service_type='api'" in text
    assert "mine" in text
