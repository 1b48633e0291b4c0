"""The contract suite of asgi-lifecycle, run against a Litestar app with the LifecyclePlugin."""

from __future__ import annotations

from typing import cast

import pytest
from litestar import Litestar, get
from litestar.datastructures import State

from asgi_lifecycle import Lifespan
from asgi_lifecycle.types import ASGIApp
from asgi_lifecycle_litestar import LifecycleContext, LifecyclePlugin
from asgi_lifecycle_testing import (
    ASGIHarness,
    Capabilities,
    Harness,
    LifecycleContract,
    Probe,
    Settings,
)


class LitestarHarness(ASGIHarness):
    """A Litestar app created with the plugin, its handler reading app state and the context."""

    def make_app(self, lifespan: Lifespan, settings: Settings, probe: Probe) -> ASGIApp:
        @get(probe.path, sync_to_thread=False)
        def observe(state: State, lifecycle_context: LifecycleContext) -> str:
            probe.observe(dict(state), lifecycle_context)
            return "observed"

        plugin = LifecyclePlugin(
            service_type=settings.service_type,
            environment=settings.environment,
            config=settings.config,
            lifespan=lifespan,
            health_path=probe.health_path,
            health_token=settings.health_token,
        )
        app = Litestar(route_handlers=[observe], plugins=[plugin], logging_config=None)
        return cast("ASGIApp", app)  # Litestar types its ASGI arguments more narrowly


class TestLitestarContract(LifecycleContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return LitestarHarness()

    @pytest.fixture
    def capabilities(self) -> Capabilities:
        return Capabilities(context_in_work=True)
