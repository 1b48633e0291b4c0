"""django-asgi-lifespan's documented examples, only the import lines changed, under real Django.

Each test is one example of django-asgi-lifespan's documentation (the quickstart, "signals",
"context manager") or its integration tests, written as there with the imports switched to
``asgi_lifecycle_django``, and run through Django's ASGI handler under `LifespanManager`
with requests over ``httpx.ASGITransport``. Where upstream calls example.com, the views only
check the shared ``httpx.AsyncClient`` (open while serving, closed after shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from types import ModuleType
from typing import Any, cast

import httpx
import pytest
from django.apps import AppConfig, apps
from django.http import HttpRequest, HttpResponse
from django.test.utils import override_settings
from django.urls import path

from asgi_lifecycle import Lifespan
from asgi_lifecycle.types import ASGIApp
from asgi_lifecycle_django import (
    _managers,
    asgi_shutdown,
    asgi_startup,
    get_asgi_application,
    register_lifespan_manager,
)
from asgi_lifecycle_testing import LifespanManager, LifespanStartupFailed

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def clean(django_setup: None) -> Iterator[None]:
    """No registered context manager or test receiver outlives its test."""
    registered = list(_managers._registered)
    yield
    _managers._registered[:] = registered
    for signal in (asgi_startup, asgi_shutdown):
        signal.disconnect(dispatch_uid="example")


@contextlib.asynccontextmanager
async def serving(*views: tuple[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    """Serve the views with Django's ASGI handler while its lifespan runs."""
    urls = ModuleType("django_asgi_lifespan_examples_urls")
    urls.urlpatterns = [path(route, view) for route, view in views]  # type: ignore[attr-defined]
    app: ASGIApp = get_asgi_application(lifespan=Lifespan())
    with override_settings(ROOT_URLCONF=urls):
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c


# -- "Context manager" (docs/how_to_use/context_manager.md, example/context.py) -----------


@contextlib.asynccontextmanager
async def httpx_lifespan_manager() -> AsyncIterator[dict[str, Any]]:
    state = {"httpx_client": httpx.AsyncClient()}

    try:
        yield state
    finally:
        await state["httpx_client"].aclose()


async def example_view(request: HttpRequest) -> HttpResponse:
    httpx_client: httpx.AsyncClient = request.state["httpx_client"]  # type: ignore[attr-defined]
    closed = "closed" if httpx_client.is_closed else "open"
    return HttpResponse(f"OK {closed}", status=HTTPStatus.OK, content_type="text/plain")


async def test_registered_context_manager_publishes_request_state() -> None:
    """A context manager registered with register_lifespan_manager publishes its dict to request.state."""  # noqa: E501
    register_lifespan_manager(context_manager=httpx_lifespan_manager)
    async with serving(("client", example_view)) as client:
        response = await client.get("/client")
        assert (response.status_code, response.text) == (200, "OK open")


async def test_registered_context_manager_is_exited_at_shutdown() -> None:
    """The client a registered context manager yields is closed once the lifespan shut down."""
    seen: list[httpx.AsyncClient] = []

    async def keep(request: HttpRequest) -> HttpResponse:
        seen.append(request.state["httpx_client"])  # type: ignore[attr-defined]
        return HttpResponse("kept")

    register_lifespan_manager(context_manager=httpx_lifespan_manager)
    async with serving(("keep", keep)) as client:
        assert (await client.get("/keep")).status_code == 200
        assert not seen[0].is_closed
    assert seen[0].is_closed


async def test_registering_the_same_manager_twice_enters_it_once() -> None:
    """Registering one context manager twice, as django-asgi-lifespan's test app does, enters it once."""  # noqa: E501
    entered: list[str] = []

    @contextlib.asynccontextmanager
    async def dummy_lifespan_manager() -> AsyncIterator[dict[str, Any]]:
        entered.append("in")
        yield {"correct_number": 42}
        entered.append("out")

    async def number(request: HttpRequest) -> HttpResponse:
        return HttpResponse(str(request.state["correct_number"]))  # type: ignore[attr-defined]

    register_lifespan_manager(context_manager=dummy_lifespan_manager)
    register_lifespan_manager(context_manager=dummy_lifespan_manager)
    async with serving(("number", number)) as client:
        assert (await client.get("/number")).text == "42"
    assert entered == ["in", "out"]


async def test_two_managers_publishing_one_key_fail_the_startup() -> None:
    """Two different context managers yielding one state key fail the startup, naming the key."""

    @contextlib.asynccontextmanager
    async def first() -> AsyncIterator[dict[str, Any]]:
        yield {"db": 1}

    @contextlib.asynccontextmanager
    async def second() -> AsyncIterator[dict[str, Any]]:
        yield {"db": 2}

    register_lifespan_manager(context_manager=first)
    register_lifespan_manager(context_manager=second)
    with pytest.raises(LifespanStartupFailed, match="'db'"):
        async with serving():
            pass  # pragma: no cover


def test_register_refuses_what_is_not_callable() -> None:
    """register_lifespan_manager refuses a context manager object instead of its function."""
    with pytest.raises(TypeError, match="asynccontextmanager"):
        register_lifespan_manager(context_manager=httpx_lifespan_manager())  # type: ignore[arg-type]


# -- "Signals" (docs/how_to_use/signals.md, example/handlers.py, apps.py, views.py) --------


class ASGILifespanSignalHandler:
    app_config: Any

    def __init__(self, app_config: AppConfig) -> None:
        self.app_config = app_config

    async def startup(self, **_: Any) -> None:
        self.app_config.httpx_client = httpx.AsyncClient()

    async def shutdown(self, **_: Any) -> None:
        await self.app_config.httpx_client.aclose()


async def my_library_view(*_: Any) -> HttpResponse:
    library_app = cast(Any, apps.get_app_config("djl_shop"))
    httpx_client = library_app.httpx_client
    if httpx_client.is_closed:
        return HttpResponse("closed", status=HTTPStatus.INTERNAL_SERVER_ERROR)
    return HttpResponse("OK app config", content_type="text/plain")


async def test_signal_receivers_on_an_app_config() -> None:
    """asgi_startup and asgi_shutdown receivers create and close a client held by an AppConfig."""
    app_config = cast(Any, apps.get_app_config("djl_shop"))
    handler = ASGILifespanSignalHandler(app_config=app_config)
    asgi_startup.connect(handler.startup, weak=False, dispatch_uid="example")
    asgi_shutdown.connect(handler.shutdown, weak=False, dispatch_uid="example")
    try:
        async with serving(("library", my_library_view)) as client:
            response = await client.get("/library")
            assert (response.status_code, response.text) == (200, "OK app config")
        assert app_config.httpx_client.is_closed
    finally:
        with contextlib.suppress(AttributeError):
            del app_config.httpx_client


# -- The quickstart (README): a module-level client, created under a lock -------------------

HTTPX_CLIENT: httpx.AsyncClient | None = None
_signal_lock = asyncio.Lock()


async def create_httpx_client(**_: Any) -> None:
    global HTTPX_CLIENT
    async with _signal_lock:
        if not HTTPX_CLIENT:
            HTTPX_CLIENT = httpx.AsyncClient()


async def close_httpx_client(**_: Any) -> None:
    if isinstance(HTTPX_CLIENT, httpx.AsyncClient):
        await asyncio.wait_for(asyncio.create_task(HTTPX_CLIENT.aclose()), timeout=5.0)


async def quickstart_view(*_: Any) -> HttpResponse:
    assert HTTPX_CLIENT is not None
    return HttpResponse("closed" if HTTPX_CLIENT.is_closed else "open")


async def test_quickstart_receivers() -> None:
    """The quickstart's receivers create a module-level client at startup and close it at shutdown."""  # noqa: E501
    global HTTPX_CLIENT
    asgi_startup.connect(create_httpx_client, dispatch_uid="example")
    asgi_shutdown.connect(close_httpx_client, dispatch_uid="example")
    try:
        async with serving(("quick", quickstart_view)) as client:
            assert (await client.get("/quick")).text == "open"
        assert HTTPX_CLIENT is not None
        assert HTTPX_CLIENT.is_closed
    finally:
        HTTPX_CLIENT = None


# -- scope["state"], written by a receiver --------------------------------------------------


async def test_receiver_writes_scope_state_for_requests() -> None:
    """A startup receiver that writes kwargs["scope"]["state"] publishes it to request.state."""

    async def startup(**kwargs: Any) -> None:
        kwargs["scope"]["state"]["greeting"] = "hello"

    async def greet(request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.state["greeting"])  # type: ignore[attr-defined]

    asgi_startup.connect(startup, weak=False, dispatch_uid="example")
    async with serving(("greet", greet)) as client:
        assert (await client.get("/greet")).text == "hello"
