"""The contract suite, against Django's ASGI handler, set up the way users set it up."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse
from django.test.utils import override_settings
from django.urls import include, path

from asgi_lifecycle import Lifespan
from asgi_lifecycle.types import ASGIApp
from asgi_lifecycle_django import LifecycleASGIHandler
from asgi_lifecycle_testing import (
    ASGIHarness,
    ASGIRunning,
    Capabilities,
    LifecycleContract,
    Probe,
    Settings,
)


class DjangoHarness(ASGIHarness):
    """``LifecycleASGIHandler``, as ``get_asgi_application()`` builds it, serving a Django view.

    The view reads the state from the request's scope and the context from
    ``request.lifecycle`` (set by the adapter's middleware, as in users' settings).
    """

    def __init__(self) -> None:
        self.probe: Probe | None = None

    async def observe(self, request: HttpRequest) -> HttpResponse:
        assert self.probe is not None
        scope: dict[str, Any] = request.scope  # type: ignore[attr-defined]
        self.probe.observe(scope.get("state"), request.lifecycle)  # type: ignore[attr-defined]
        return HttpResponse("observed")

    def make_app(self, lifespan: Lifespan, settings: Settings, probe: Probe) -> ASGIApp:
        self.probe = probe
        return LifecycleASGIHandler(
            lifespan=lifespan,
            service_type=settings.service_type,
            environment=settings.environment,
            config=settings.config,
        )

    @contextlib.asynccontextmanager
    async def run(self, lifespan: Lifespan, settings: Settings, /) -> AsyncIterator[ASGIRunning]:
        """Serve the probe view from a URLconf of the harness's own while the app runs."""
        # A module object: Django caches resolvers by URLconf, which must be hashable.
        urls = ModuleType("asgi_lifecycle_contract_urls")
        urls.urlpatterns = [  # type: ignore[attr-defined]
            path(Probe.path.lstrip("/"), self.observe),
            path(Probe.health_path.lstrip("/") + "/", include("asgi_lifecycle_django.urls")),
        ]
        lifecycle = dict(django_settings.ASGI_LIFECYCLE)
        if settings.health_token is not None:
            lifecycle["HEALTH_TOKEN"] = settings.health_token
        with override_settings(ROOT_URLCONF=urls, ASGI_LIFECYCLE=lifecycle):
            async with super().run(lifespan, settings) as running:
                yield running


class TestDjangoContract(LifecycleContract):
    """Django's ASGI handler keeps the whole promise."""

    @pytest.fixture
    def harness(self) -> DjangoHarness:
        return DjangoHarness()

    @pytest.fixture
    def capabilities(self) -> Capabilities:
        return Capabilities(context_in_work=True)
