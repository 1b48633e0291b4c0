"""The contract, run against LifespanMiddleware around a Starlette app with its own lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from asgi_lifecycle import Lifespan, LifespanMiddleware
from asgi_lifecycle.types import ASGIApp
from asgi_lifecycle_testing import ASGIHarness, Harness, LifecycleContract, Probe, Settings


class StarletteHarness(ASGIHarness):
    """A Starlette app whose own lifespan publishes state too, wrapped in the middleware."""

    def make_app(self, lifespan: Lifespan, settings: Settings, probe: Probe) -> ASGIApp:
        async def observe(request: Request) -> Response:
            state = {key: getattr(request.state, key) for key in request.scope["state"]}
            probe.observe(state)
            return PlainTextResponse("observed")

        @contextlib.asynccontextmanager
        async def own(app: Starlette) -> AsyncIterator[dict[str, str]]:
            yield {"starlette": "own state"}

        app = Starlette(routes=[Route(probe.path, observe)], lifespan=own)
        return LifespanMiddleware(
            app,
            lifespan=lifespan,
            service_type=settings.service_type,
            environment=settings.environment,
            config=settings.config,
            health_path=probe.health_path,
            health_token=settings.health_token,
        )


class TestStarletteContract(LifecycleContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return StarletteHarness()


@pytest.mark.anyio
async def test_starlette_own_state_reaches_requests_beside_ours() -> None:
    """The Starlette app's own lifespan state reaches its handlers beside the hooks' state."""
    lp = Lifespan()

    @lp.resource
    async def db() -> AsyncIterator[str]:
        yield "DB"

    async with StarletteHarness().run(lp, Settings()) as running:
        observation = await running.perform()
    assert observation.state == {"db": "DB", "starlette": "own state"}
