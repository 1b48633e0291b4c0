"""health_router: its options and its errors (real servers: tests/servers/test_health.py)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from asgi_lifecycle import Lifespan
from asgi_lifecycle_fastapi import LifespanClient, health_router, lifespan

SECRET = "redis://:s3cret@cache.internal:6379"


def failing_app(**options: object) -> FastAPI:
    hooks = Lifespan()

    @hooks.health_check(name="cache")
    def cache() -> None:
        raise ConnectionError(f"cannot reach {SECRET}")

    app = FastAPI(lifespan=lifespan(service_type="api", lifespan=hooks))
    app.include_router(health_router(hooks, **options))  # type: ignore[arg-type]
    return app


def test_details_true_shows_errors_to_everyone() -> None:
    """With details=True a failing check's error is in every readiness response."""
    with LifespanClient(failing_app(details=True)) as client:
        response = client.get("/health/ready")
    assert response.status_code == 503
    assert SECRET in response.text


def test_errors_stay_out_of_public_responses_and_the_schema() -> None:
    """By default no error text is shown, and the probes are not in the OpenAPI schema."""
    with LifespanClient(failing_app(prefix="/probes")) as client:
        response = client.get("/probes")
        head = client.head("/probes/live")
        schema = client.get("/openapi.json").json()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/health+json"
    assert response.headers["cache-control"] == "no-store"
    assert SECRET not in response.text
    assert (head.status_code, head.content) == (200, b"")
    assert not any(path.startswith("/probes") for path in schema["paths"])


@pytest.mark.parametrize("prefix", ["health", "/", ""])
def test_a_bad_prefix_is_refused(prefix: str) -> None:
    """A prefix that is no path such as '/health' fails at once, naming the argument."""
    with pytest.raises(TypeError, match=r"health_router\(prefix=...\)"):
        health_router(Lifespan(), prefix=prefix)


def test_a_short_token_is_refused() -> None:
    """A token shorter than 8 characters is refused: it guards error details."""
    with pytest.raises(TypeError, match="at least 8 characters"):
        health_router(Lifespan(), token="short")
