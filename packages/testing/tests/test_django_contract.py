"""The contract, run against LifespanMiddleware around Django's stock ASGI handler."""

from __future__ import annotations

import contextlib
import types
from collections.abc import AsyncIterator

import django
import pytest
from django.conf import settings as django_settings
from django.core.asgi import get_asgi_application
from django.http import HttpRequest, HttpResponse
from django.test.utils import override_settings
from django.urls import path

from asgi_lifecycle import Lifespan, LifespanMiddleware
from asgi_lifecycle.types import ASGIApp
from asgi_lifecycle_testing import (
    ASGIHarness,
    ASGIRunning,
    Harness,
    LifecycleContract,
    Probe,
    Settings,
)


def _setup_django() -> None:
    if not django_settings.configured:  # the first Django test of the session configures it
        django_settings.configure(ALLOWED_HOSTS=["*"], SECRET_KEY="test", INSTALLED_APPS=[])
    django.setup()


class DjangoHarness(ASGIHarness):
    """Django's own ``get_asgi_application()``, which rejects lifespan, in the middleware."""

    def make_app(self, lifespan: Lifespan, settings: Settings, probe: Probe) -> ASGIApp:
        _setup_django()
        return LifespanMiddleware(
            get_asgi_application(),
            lifespan=lifespan,
            service_type=settings.service_type,
            environment=settings.environment,
            config=settings.config,
            health_path=probe.health_path,
            health_token=settings.health_token,
        )

    @contextlib.asynccontextmanager
    async def run(self, lifespan: Lifespan, settings: Settings, /) -> AsyncIterator[ASGIRunning]:
        """Serve the probe's path from a urlconf of this run's own."""
        async with super().run(lifespan, settings) as running:
            probe = running.probe
            urls = types.ModuleType("asgi_lifecycle_testing_django_probe")

            def observe(request: HttpRequest) -> HttpResponse:
                probe.observe(request.scope.get("state"))  # type: ignore[attr-defined]
                return HttpResponse(b"observed")

            urls.urlpatterns = [path(probe.path.lstrip("/"), observe)]  # type: ignore[attr-defined]
            with override_settings(ROOT_URLCONF=urls, ALLOWED_HOSTS=["*"]):
                yield running


class TestDjangoContract(LifecycleContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return DjangoHarness()
