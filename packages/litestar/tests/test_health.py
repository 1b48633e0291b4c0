"""LifecyclePlugin(health_path=...): its options and its errors (real servers: tests/servers)."""

from __future__ import annotations

import pytest
from litestar import Litestar

from asgi_lifecycle import Lifespan
from asgi_lifecycle_litestar import LifecyclePlugin, LifespanClient

SECRET = "redis://:s3cret@cache.internal:6379"


def failing_app(**options: object) -> Litestar:
    hooks = Lifespan()

    @hooks.health_check(name="cache")
    def cache() -> None:
        raise ConnectionError(f"cannot reach {SECRET}")

    plugin = LifecyclePlugin(service_type="api", lifespan=hooks, **options)  # type: ignore[arg-type]
    return Litestar(plugins=[plugin], logging_config=None)


def test_health_details_shows_errors_to_everyone() -> None:
    """With health_details=True a failing check's error is in every readiness response."""
    with LifespanClient(failing_app(health_path="/health", health_details=True)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert SECRET in response.text


def test_public_responses_carry_no_error_and_the_schema_no_probe() -> None:
    """By default no error text is shown, and the probes are not in the OpenAPI schema."""
    with LifespanClient(failing_app(health_path="/probes")) as client:
        response = client.get("/probes/ready")
        live = client.get("/probes/live")
        schema = client.get("/schema/openapi.json").json()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/health+json"
    assert SECRET not in response.text
    assert live.status_code == 200
    assert not any(path.startswith("/probes") for path in schema.get("paths", {}))


def test_without_health_path_there_is_no_probe() -> None:
    """Without health_path the plugin adds no route."""
    with LifespanClient(failing_app()) as client:
        assert client.get("/health").status_code == 404


@pytest.mark.parametrize("path", ["health", 5])
def test_a_bad_health_path_is_refused(path: object) -> None:
    """A health_path that is no path such as '/health' fails at once, naming the argument."""
    with pytest.raises(TypeError, match=r"LifecyclePlugin\(health_path=...\)"):
        LifecyclePlugin(health_path=path)  # type: ignore[arg-type]
