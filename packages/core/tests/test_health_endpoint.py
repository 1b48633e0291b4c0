from __future__ import annotations

import json
from typing import Any

import pytest

from asgi_lifecycle import (
    HealthApp,
    HealthEndpoint,
    HealthServer,
    Lifespan,
    LifespanContext,
    LifespanMiddleware,
)

pytestmark = pytest.mark.anyio

APP = LifespanContext("app", "test")


async def call(app: Any, scope: dict[str, Any], inbox: list[dict[str, Any]]) -> list[Any]:
    """Run one ASGI connection of ``app`` with the given messages; return what it sent."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def test_bad_endpoint_arguments_are_refused_by_name() -> None:
    """HealthEndpoint refuses a non-Lifespan, a non-bool details and a short token, naming each."""
    with pytest.raises(TypeError, match=r"HealthEndpoint\(lifespan=\.\.\.\) needs a Lifespan"):
        HealthEndpoint("app")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"details=\.\.\.\) must be True or False"):
        HealthEndpoint(Lifespan(), details="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"token=\.\.\.\) must be a string of at least 8"):
        HealthEndpoint(Lifespan(), token="short")


def test_the_token_defaults_to_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """ASGI_LIFECYCLE_HEALTH_TOKEN is the token when none is given."""
    monkeypatch.setenv("ASGI_LIFECYCLE_HEALTH_TOKEN", "from-the-env")
    endpoint = HealthEndpoint(Lifespan())
    assert endpoint.allows_details("Bearer from-the-env")
    assert not endpoint.allows_details("Bearer other-token")
    assert not endpoint.allows_details(None)


async def test_details_true_shows_error_text_to_everyone(lp: Lifespan) -> None:
    """With details=True an anonymous probe sees each failing check's error and criticality."""

    @lp.health_check(name="db")
    def db() -> None:
        raise ConnectionError("db.internal refused")

    @lp.health_check(name="queue")
    def queue() -> int:
        return 3  # a number a check returns is its observed value

    endpoint = HealthEndpoint(lp, service_type="app", environment="test", details=True)
    assert endpoint.allows_details(None)
    await lp.startup(APP)
    try:
        response = await endpoint.respond("ready")
    finally:
        await lp.shutdown(APP)
    assert response.status == 503
    checks = json.loads(response.body)["checks"]
    assert checks["db:responseTime"][0]["output"] == "ConnectionError: db.internal refused"
    assert checks["db:responseTime"][0]["critical"] is True
    assert checks["queue:responseTime"][0]["observed"] == 3


async def test_the_report_reads_well_in_a_log(lp: Lifespan) -> None:
    """str(HealthReport) has a title line, the state, and one line per check with its output."""

    @lp.health_check(name="db")
    def db() -> None:
        raise ConnectionError("refused")

    await lp.startup(APP)
    try:
        report = await lp.health("app", "test")
    finally:
        await lp.shutdown(APP)
    lines = str(report).splitlines()
    assert lines[0] == "readiness of 'app' (test): fail"
    assert lines[1].split() == ["state", "ready"]
    assert lines[2].split()[:2] == ["db", "fail"]
    assert lines[2].endswith("ConnectionError: refused")
    assert str(lp.liveness("app", "test")).startswith("liveness of 'app' (test): pass")


async def test_health_app_answers_a_lifespan_of_its_own(lp: Lifespan) -> None:
    """Mounted as an app of its own, HealthApp completes startup and shutdown and starts nothing."""
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = await call(HealthApp(lp), {"type": "lifespan"}, inbox)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


async def test_health_app_refuses_a_websocket(lp: Lifespan) -> None:
    """HealthApp raises for a scope other than http or lifespan, naming the scope type."""
    with pytest.raises(RuntimeError, match="serves http only, not 'websocket'"):
        await call(HealthApp(lp), {"type": "websocket", "path": "/ready"}, [])


async def test_health_app_reads_the_bearer_token_and_its_prefix(lp: Lifespan) -> None:
    """HealthApp strips its prefix and honours the Authorization header of the request."""

    @lp.health_check(name="db")
    def db() -> None:
        raise ConnectionError("db.internal refused")

    app = HealthApp(lp, service_type="app", environment="test", token="s3cret-token", prefix="/hz/")
    await lp.startup(APP)
    try:

        async def get(headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
            scope = {"type": "http", "method": "GET", "path": "/hz/ready", "headers": headers}
            sent = await call(app, scope, [{"type": "http.request", "body": b""}])
            return sent[0]["status"], sent[1]["body"]

        status, body = await get([(b"Authorization", b"Bearer s3cret-token")])
        assert status == 503
        assert b"db.internal refused" in body
        status, body = await get([(b"host", b"x"), (b"authorization", b"Bearer nope-nope")])
        assert status == 401
        status, body = await get([])
        assert (status, b"db.internal" in body) == (503, False)
    finally:
        await lp.shutdown(APP)


def test_bad_middleware_arguments_are_refused_by_name() -> None:
    """LifespanMiddleware refuses a non-callable app, a non-Lifespan and a relative health path."""
    with pytest.raises(TypeError, match=r"LifespanMiddleware\(app\) needs an ASGI application"):
        LifespanMiddleware("app")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"lifespan=\.\.\.\) needs an asgi_lifecycle.Lifespan"):
        LifespanMiddleware(HealthApp(), lifespan=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"health_path=\.\.\.\) must be a path such as '/health'"):
        LifespanMiddleware(HealthApp(), health_path="health")


@pytest.mark.parametrize("port", [-1, 65536, True, "8080"])
def test_a_health_server_needs_a_port_number(port: Any) -> None:
    """HealthServer refuses anything but a TCP port number, naming the argument."""
    with pytest.raises(TypeError, match=r"HealthServer\(port=\.\.\.\) must be a TCP port number"):
        HealthServer(Lifespan(), port=port)
