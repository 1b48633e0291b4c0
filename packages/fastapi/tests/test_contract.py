"""The contract suite, against FastAPI and against plain Starlette, the ways users set them up."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI, Request
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from asgi_lifecycle import HealthApp, Lifespan
from asgi_lifecycle.types import ASGIApp
from asgi_lifecycle_fastapi import (
    LifecycleContext,
    get_context,
    health_router,
    install,
    lifespan,
)
from asgi_lifecycle_testing import (
    ASGIHarness,
    Capabilities,
    Harness,
    LifecycleContract,
    Probe,
    Settings,
)


@contextlib.asynccontextmanager
async def own_lifespan(app: object) -> AsyncIterator[dict[str, str]]:
    """The application's own lifespan, publishing state of its own."""
    yield {"own": "state"}


class FastAPIHarness(ASGIHarness):
    """``FastAPI(lifespan=lifespan(..., wraps=own))``; the handler takes the dependency."""

    def make_app(self, lifespan_: Lifespan, settings: Settings, probe: Probe) -> ASGIApp:
        app = FastAPI(
            lifespan=lifespan(
                service_type=settings.service_type,
                environment=settings.environment,
                config=settings.config,
                lifespan=lifespan_,
                wraps=own_lifespan,
            )
        )

        @app.get(probe.path)
        async def observe(request: Request, context: LifecycleContext) -> str:
            assert request.state.own == "state"
            probe.observe(request.scope["state"], context)
            return "observed"

        app.include_router(
            health_router(lifespan_, prefix=probe.health_path, token=settings.health_token)
        )
        return app


class InstalledFastAPIHarness(ASGIHarness):
    """``install(app, ...)`` on a FastAPI app built with a lifespan of its own."""

    def make_app(self, lifespan_: Lifespan, settings: Settings, probe: Probe) -> ASGIApp:
        app = FastAPI(lifespan=own_lifespan)

        @app.get(probe.path)
        async def observe(request: Request, context: LifecycleContext) -> str:
            probe.observe(request.scope["state"], context)
            return "observed"

        install(
            app,
            service_type=settings.service_type,
            environment=settings.environment,
            config=settings.config,
            lifespan=lifespan_,
        )
        app.include_router(
            health_router(
                lifespan_,
                prefix=probe.health_path,
                service_type=settings.service_type,
                environment=settings.environment,
                token=settings.health_token,
            )
        )
        return app


class StarletteHarness(ASGIHarness):
    """``Starlette(lifespan=lifespan(...))``; the handler calls get_context(request)."""

    def make_app(self, lifespan_: Lifespan, settings: Settings, probe: Probe) -> ASGIApp:
        async def observe(request: Request) -> Response:
            probe.observe(request.scope["state"], get_context(request))
            return PlainTextResponse("observed")

        return Starlette(
            routes=[
                Route(probe.path, observe),
                # Plain Starlette has no router of the adapter's: the core's app, mounted.
                Mount(probe.health_path, HealthApp(lifespan_, token=settings.health_token)),
            ],
            lifespan=lifespan(
                service_type=settings.service_type,
                environment=settings.environment,
                config=settings.config,
                lifespan=lifespan_,
            ),
        )


class TestFastAPIContract(LifecycleContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return FastAPIHarness()

    @pytest.fixture
    def capabilities(self) -> Capabilities:
        return Capabilities(context_in_work=True)


class TestInstalledFastAPIContract(LifecycleContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return InstalledFastAPIHarness()

    @pytest.fixture
    def capabilities(self) -> Capabilities:
        return Capabilities(context_in_work=True)


class TestStarletteContract(LifecycleContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return StarletteHarness()

    @pytest.fixture
    def capabilities(self) -> Capabilities:
        return Capabilities(context_in_work=True)
