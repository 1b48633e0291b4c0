"""Fixtures of the adapter's tests: a private registry, a recorder, app builders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asgi_lifecycle import Lifespan, LifespanContext
from asgi_lifecycle_fastapi import get_context

AppFactory = Callable[..., Starlette]


@pytest.fixture
def registry() -> Lifespan:
    """A registry of its own, so that no test touches the process-wide one."""
    return Lifespan()


@pytest.fixture
def events() -> list[str]:
    """What hooks and application lifespans did, in order."""
    return []


@pytest.fixture
def hooks(registry: Lifespan, events: list[str]) -> Lifespan:
    """The registry with a start hook, a shutdown hook and a resource publishing 'database'."""

    @registry.on_start(name="start")
    def start(context: LifespanContext) -> None:
        events.append(f"hooks up ({context.service_type})")

    @registry.on_shutdown(name="stop")
    def stop() -> None:
        events.append("hooks down")

    @registry.resource(name="database", priority=-1)
    async def database() -> Any:
        events.append("database up")
        yield "pool"
        events.append("database down")

    return registry


async def show_state(request: Request) -> JSONResponse:
    """Report what a handler sees: the request state and the run's context."""
    context = get_context(request)
    shown = {key: value for key, value in request.scope["state"].items() if "." not in key}
    return JSONResponse(
        {
            "state": shown,
            "service_type": context.service_type,
            "environment": context.environment,
        }
    )


@pytest.fixture(params=["fastapi", "starlette"])
def framework(request: pytest.FixtureRequest) -> str:
    """Each test that asks runs once with a FastAPI app and once with a plain Starlette app."""
    return str(request.param)


@pytest.fixture
def make_app(framework: str) -> AppFactory:
    """Build an app of the current framework, serving ``GET /state`` (see `show_state`)."""

    def build(**options: Any) -> Starlette:
        if framework == "fastapi":
            app = FastAPI(**options)
            app.add_route("/state", show_state)
            return app
        return Starlette(routes=[Route("/state", show_state)], **options)

    return build
