"""The health include with Django's test clients (real servers: tests/servers/test_health.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from asgi_lifecycle import lifespan
from asgi_lifecycle_django.testing import async_lifecycle_client, lifecycle_client

SECRET = "redis://:s3cret@cache.internal:6379"


@pytest.fixture
def failing_check(hooks_log: Path) -> None:
    """The project's hooks plus a critical check that fails with a DSN in its error."""

    @lifespan.health_check(name="cache")
    def cache() -> None:
        raise ConnectionError(f"cannot reach {SECRET}")


@pytest.mark.parametrize(("details", "shown"), [(False, False), (True, True)])
def test_health_details_setting(failing_check: None, details: bool, shown: bool) -> None:
    """ASGI_LIFECYCLE["HEALTH_DETAILS"] decides whether a failing check's error is shown."""
    value = {**settings.ASGI_LIFECYCLE, "HEALTH_DETAILS": details}
    with override_settings(ASGI_LIFECYCLE=value), lifecycle_client() as client:
        ready = client.get("/health/ready")
        live = client.get("/health/live")
    assert ready.status_code == 503
    assert ready["content-type"] == "application/health+json"
    assert (SECRET in ready.content.decode()) is shown
    assert live.status_code == 200


def test_health_token_setting(failing_check: None) -> None:
    """With ASGI_LIFECYCLE["HEALTH_TOKEN"] only a request bearing it sees the error."""
    value = {**settings.ASGI_LIFECYCLE, "HEALTH_TOKEN": "a-long-probe-token"}
    with override_settings(ASGI_LIFECYCLE=value), lifecycle_client() as client:
        public = client.get("/health/")
        private = client.get("/health/", headers={"Authorization": "Bearer a-long-probe-token"})
        wrong = client.get("/health/", headers={"Authorization": "Bearer another-token"})
    assert SECRET not in public.content.decode()
    assert SECRET in private.content.decode()
    assert wrong.status_code == 401


@pytest.mark.anyio
async def test_health_with_the_async_client(hooks_log: Path) -> None:
    """The include answers 200 through the async test client while the run is ready."""
    async with async_lifecycle_client() as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "pass"
