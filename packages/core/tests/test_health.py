from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from asgi_lifecycle import (
    CheckResult,
    HealthApp,
    HealthEndpoint,
    HealthServer,
    HookRegistrationError,
    HookResult,
    LifecycleListener,
    LifecycleReport,
    LifecycleState,
    Lifespan,
    LifespanContext,
    LifespanMiddleware,
    StartupFailed,
)

from .test_middleware import Server, state_app

pytestmark = pytest.mark.anyio

APP = LifespanContext("app", "test")


class States(LifecycleListener):
    """Records the state changes it is told of."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def state_changed(self, service_type: str, environment: str, state: LifecycleState) -> None:
        self.seen.append(f"{service_type}/{environment}: {state}")


async def test_states_follow_the_lifecycle(lp: Lifespan) -> None:
    """starting, ready, draining, stopped; each change told to listeners."""
    states = States()
    lp.add_listener(states)
    seen_in_hooks: list[LifecycleState] = []

    @lp.on_start
    def during_startup() -> None:
        seen_in_hooks.append(lp.state("app", "test"))

    @lp.on_shutdown
    def during_shutdown() -> None:
        seen_in_hooks.append(lp.state("app", "test"))

    assert lp.state("app", "test") is LifecycleState.STARTING  # never started yet
    await lp.startup(APP)
    assert lp.state() is LifecycleState.READY  # no argument: the process's latest run
    await lp.shutdown(LifespanContext("app", "test"))
    assert lp.state("app", "test") is LifecycleState.STOPPED
    assert seen_in_hooks == [LifecycleState.STARTING, LifecycleState.DRAINING]
    assert states.seen == [
        "app/test: starting",
        "app/test: ready",
        "app/test: draining",
        "app/test: stopped",
    ]


async def test_a_failed_startup_is_failed_and_not_live(lp: Lifespan) -> None:
    """After a failed startup the state is failed, and liveness fails too."""

    @lp.on_start
    def boom() -> None:
        raise RuntimeError("no database")

    with pytest.raises(StartupFailed):
        await lp.startup(APP)
    assert lp.state("app", "test") is LifecycleState.FAILED
    assert lp.liveness("app", "test").status == "fail"
    assert (await lp.health("app", "test")).http_status == 503


async def test_readiness_is_ready_and_every_critical_check(lp: Lifespan) -> None:
    """Ready with passing checks: pass; a failing non-critical check: warn; a critical one: fail."""
    broken = {"critical": False, "optional": False}

    @lp.health_check(name="critical")
    def critical_check() -> None:
        if broken["critical"]:
            raise ConnectionError("db.internal:5432 refused")

    @lp.health_check(name="optional", critical=False)
    async def optional_check() -> bool:
        return not broken["optional"]

    lp.configure(health_ttl=0)
    assert (await lp.health("app", "test")).status == "fail"  # not started
    await lp.startup(APP)
    report = await lp.health("app", "test")
    assert (report.status, report.http_status) == ("pass", 200)
    assert [(c.name, c.status) for c in report.checks] == [
        ("critical", "pass"),
        ("optional", "pass"),
    ]
    broken["optional"] = True
    report = await lp.health("app", "test")
    assert (report.status, report.http_status) == ("warn", 200)
    assert report.checks[1].reason == "it returned False"
    broken["critical"] = True
    report = await lp.health("app", "test")
    assert (report.status, report.http_status) == ("fail", 503)
    assert isinstance(report.checks[0].error, ConnectionError)
    await lp.shutdown(APP)


async def test_a_resource_check_gets_the_resource_value(lp: Lifespan) -> None:
    """resource(check=...) pings what the resource yielded; it is named after the resource."""
    pinged: list[Any] = []

    def ping(pool: dict[str, int]) -> None:
        pinged.append(pool)

    @lp.resource(name="database", check=ping)
    async def database() -> AsyncIterator[dict[str, int]]:
        yield {"connections": 3}

    await lp.startup(APP)
    report = await lp.health("app", "test")
    assert [c.name for c in report.checks] == ["database"]
    assert pinged == [{"connections": 3}]
    assert [c.name for c in lp.health_checks] == ["database"]
    assert lp.hooks[0].check == "database"
    await lp.shutdown(APP)


async def test_a_health_check_of_a_resource_gets_its_value(lp: Lifespan) -> None:
    """health_check(resource=...) pings what a resource without a check of its own yielded."""
    pinged: list[Any] = []

    @lp.resource(name="cache")
    async def cache() -> AsyncIterator[str]:
        yield "redis"

    @lp.health_check(name="cache-ping", resource="cache")
    def ping(client: str) -> None:
        pinged.append(client)

    await lp.startup(APP)
    report = await lp.health("app", "test")
    assert [(c.name, c.status) for c in report.checks] == [("cache-ping", "pass")]
    assert pinged == ["redis"]
    await lp.shutdown(APP)


async def test_a_check_after_a_hook_that_failed_fails(lp: Lifespan) -> None:
    """A check whose resource or after= hook did not start fails, saying which."""

    @lp.resource(name="cache", critical=False)
    def cache() -> Iterator[None]:
        raise OSError("no cache")
        yield

    @lp.health_check(name="needs_cache", after="cache")
    def needs_cache() -> None: ...

    @lp.health_check(name="pings_cache", resource=cache)
    def pings_cache(value: object) -> None: ...

    await lp.startup(APP)
    report = await lp.health("app", "test")
    assert [(c.name, c.status, c.reason) for c in report.checks] == [
        ("needs_cache", "fail", "needs 'cache', which did not start"),
        ("pings_cache", "fail", "its resource 'cache' is not up"),
    ]
    await lp.shutdown(APP)


async def test_sync_checks_run_off_the_loop_and_get_the_context(lp: Lifespan) -> None:
    """A plain check runs in a thread; one that takes an argument is given the context."""
    seen: list[tuple[str, str]] = []

    @lp.health_check
    def sync_check(context: LifespanContext) -> None:
        seen.append((threading.current_thread().name, context.service_type))

    await lp.startup(APP)
    await lp.health("app", "test")
    assert seen == [("asgi-lifecycle-hook", "app")]
    await lp.shutdown(APP)


async def test_a_hung_check_never_holds_the_probe_past_its_timeout(lp: Lifespan) -> None:
    """A check past its timeout fails with a message naming it; the probe answers in time."""

    @lp.health_check(name="hung", timeout=0.1)
    async def hung() -> None:
        await asyncio.sleep(30)

    await lp.startup(APP)
    started = time.monotonic()
    report = await asyncio.wait_for(lp.health("app", "test"), 5)
    assert time.monotonic() - started < 5
    assert report.status == "fail"
    assert "health check 'hung' did not answer within 0.1 s" in str(report.checks[0].output)
    await lp.shutdown(APP)


async def test_checks_are_cached_and_concurrent_probes_share_one_run(lp: Lifespan) -> None:
    """Within the TTL a check runs once, however many probes ask, together or one by one."""
    runs: list[int] = []

    @lp.health_check
    async def counted() -> None:
        runs.append(1)
        await asyncio.sleep(0.05)

    lp.configure(health_ttl=60)
    await lp.startup(APP)
    reports = await asyncio.gather(*(lp.health("app", "test") for _ in range(20)))
    assert {r.status for r in reports} == {"pass"}
    await lp.health("app", "test")
    assert len(runs) == 1
    lp.configure(health_ttl=0)
    await lp.health("app", "test")
    assert len(runs) == 2
    await lp.shutdown(APP)


async def test_no_check_runs_unless_ready(lp: Lifespan) -> None:
    """While starting or draining, readiness fails at once and no check touches a resource."""
    runs: list[LifecycleState] = []

    @lp.health_check
    def counted() -> None:
        runs.append(lp.state("app", "test"))

    @lp.on_shutdown
    async def probe_while_draining() -> None:
        report = await lp.health("app", "test")
        assert (report.status, report.state) == ("fail", LifecycleState.DRAINING)

    await lp.startup(APP)
    lp.mark_draining()
    assert (await lp.health("app", "test")).status == "fail"
    await lp.shutdown(APP)
    assert runs == []


async def test_public_reports_carry_no_error_text(lp: Lifespan) -> None:
    """The health+json body: statuses and timings; an error's text only with details."""

    @lp.health_check(name="db")
    def db() -> None:
        raise ConnectionError("postgres://admin:secret@db.internal/prod refused")

    await lp.startup(APP)
    report = await lp.health("app", "test")
    public = report.to_dict()
    assert public["status"] == "fail"
    assert public["checks"]["lifecycle:state"][0]["observedValue"] == "ready"
    assert public["checks"]["db:responseTime"][0]["status"] == "fail"
    assert "secret" not in json.dumps(public)
    detailed = report.to_dict(details=True)
    assert "secret@db.internal" in detailed["checks"]["db:responseTime"][0]["output"]
    await lp.shutdown(APP)


async def test_the_endpoint_shows_details_only_to_the_token(lp: Lifespan) -> None:
    """HealthEndpoint: 503/200 by readiness, details for the bearer token, 401, 404, 405."""

    @lp.health_check(name="db")
    def db() -> None:
        raise ConnectionError("db.internal refused")

    endpoint = HealthEndpoint(lp, service_type="app", environment="test", token="s3cret-token")
    await lp.startup(APP)
    public = await endpoint.respond("ready")
    assert public.status == 503
    assert ("content-type", "application/health+json") in public.headers
    assert b"db.internal" not in public.body
    private = await endpoint.respond("/ready", authorization="Bearer s3cret-token")
    assert b"db.internal refused" in private.body
    assert (await endpoint.respond("ready", authorization="Bearer wrong")).status == 401
    assert (await endpoint.respond("live")).status == 200
    assert (await endpoint.respond("nope")).status == 404
    assert (await endpoint.respond("ready", method="POST")).status == 405
    assert (await endpoint.respond("ready", method="HEAD")).body == b""
    await lp.shutdown(APP)


async def test_middleware_answers_probes_and_turns_unready_at_shutdown(events: list[str]) -> None:
    """health_path answers before the app; readiness fails once lifespan.shutdown arrives."""
    lp = Lifespan()
    release = asyncio.Event()

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await release.wait()  # the app's own shutdown takes a while
            await send({"type": "lifespan.shutdown.complete"})
            return
        await state_app(scope, receive, send)

    app = LifespanMiddleware(inner, lifespan=lp, service_type="web", health_path="/health")
    server = Server(app)
    status, body = await server.request("/health/ready")
    assert (status, json.loads(body)["status"]) == (503, "fail")  # before startup: starting
    await server.startup()
    assert (await server.request("/health/ready"))[0] == 200
    assert (await server.request("/health"))[0] == 200
    assert (await server.request("/health/live"))[0] == 200
    assert (await server.request("/healthz"))[0] == 200  # not a probe: the app's own path
    await server.inbox.put({"type": "lifespan.shutdown"})
    for _ in range(100):
        if lp.state("web") is LifecycleState.DRAINING:
            break
        await asyncio.sleep(0.01)
    status, body = await server.request("/health/ready")
    assert status == 503
    assert json.loads(body)["checks"]["lifecycle:state"][0]["observedValue"] == "draining"
    release.set()
    assert await server.finish() is None
    assert lp.state("web") is LifecycleState.STOPPED


async def test_health_app_mounts_under_a_root_path(lp: Lifespan) -> None:
    """HealthApp honours the ASGI root_path it is mounted under."""
    await lp.startup(APP)
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/ops/health/live",
        "root_path": "/ops/health",
    }
    await HealthApp(lp, service_type="app", environment="test")(scope, receive, send)
    assert sent[0]["status"] == 200
    await lp.shutdown(APP)


def test_bad_checks_are_refused_at_registration(lp: Lifespan) -> None:
    """A check's mistakes are named at once: not callable, timeout, resource, name, option."""
    with pytest.raises(HookRegistrationError, match=r"health_check\(\) needs a function"):
        lp.add_health_check(42, name="x")  # type: ignore[arg-type]
    with pytest.raises(HookRegistrationError, match="timeout= must be a number of seconds"):
        lp.health_check(timeout=0)(lambda: None)
    with pytest.raises(HookRegistrationError, match="no resource is registered under that name"):
        lp.health_check(resource="database")(lambda: None)
    with pytest.raises(TypeError, match="'timout'; did you mean 'timeout'"):
        lp.health_check(timout=1)  # type: ignore[call-overload]

    def check() -> None: ...

    lp.health_check(name="db")(check)
    lp.health_check(name="db")(check)  # the same again: nothing happens
    with pytest.raises(HookRegistrationError, match="two health checks are named 'db'"):
        lp.health_check(name="db")(lambda: None)
    assert [c.name for c in lp.health_checks] == ["db"]


async def test_listeners_hear_phases_hooks_and_checks(lp: Lifespan) -> None:
    """A LifecycleListener hears each phase begin and end, each hook, each check run."""
    heard: list[str] = []

    class Recorder(LifecycleListener):
        def phase_started(self, phase: str, service_type: str, environment: str) -> None:
            heard.append(f"begin {phase} {service_type}")

        def hook_finished(self, result: HookResult) -> None:
            heard.append(f"{result.phase} {result.action} {result.hook.name} {result.outcome}")

        def phase_finished(self, report: LifecycleReport) -> None:
            heard.append(f"end {report.phase} ok={report.ok}")

        def check_finished(self, result: CheckResult) -> None:
            heard.append(f"check {result.name} {result.status}")

    plain: list[HookResult] = []
    lp.add_listener(Recorder())
    lp.add_listener(plain.append)

    @lp.resource(name="db")
    async def db() -> AsyncIterator[None]:
        yield

    @lp.health_check(name="ping")
    def ping() -> None: ...

    await lp.startup(APP)
    await lp.health("app", "test")
    await lp.shutdown(APP)
    assert heard == [
        "begin startup app",
        "startup setup db ok",
        "end startup ok=True",
        "check ping pass",
        "begin shutdown app",
        "shutdown teardown db ok",
        "end shutdown ok=True",
    ]
    assert [(r.phase, r.service_type, r.environment) for r in plain] == [
        ("startup", "app", "test"),
        ("shutdown", "app", "test"),
    ]


async def test_a_rollback_is_told_as_a_rollback(lp: Lifespan) -> None:
    """Listeners can tell a rollback from a shutdown: HookResult.phase says which."""
    plain: list[HookResult] = []
    lp.add_listener(plain.append)

    @lp.resource(name="db")
    async def db() -> AsyncIterator[None]:
        yield

    @lp.on_start(name="boom")
    def boom() -> None:
        raise RuntimeError("no")

    with pytest.raises(StartupFailed):
        await lp.startup(APP)
    assert [(r.phase, r.action, r.hook.name) for r in plain] == [
        ("startup", "setup", "db"),
        ("startup", "start", "boom"),
        ("rollback", "teardown", "db"),
    ]


def _get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_health_server_answers_from_the_first_hook_to_the_last() -> None:
    """HealthServer.install(): 503 starting during startup, 200 ready, a blocked loop not live."""
    lp = Lifespan()
    server = HealthServer(lp, port=0, host="127.0.0.1", loop_timeout=0.5).install()
    seen: list[tuple[int, str]] = []

    @lp.on_start(name="slow")
    async def slow() -> None:
        status, body = await asyncio.to_thread(_get, server.port, "/ready")
        seen.append((status, body["checks"]["lifecycle:state"][0]["observedValue"]))

    with lp.run_blocking(LifespanContext("worker", "test")) as runner:
        assert seen == [(503, "starting")]
        assert _get(server.port, "/ready")[0] == 200
        assert _get(server.port, "/live")[0] == 200
        assert _get(server.port, "/nope")[0] == 404
        runner.loop.call_soon_threadsafe(time.sleep, 1.5)  # a loop that does not answer
        status, body = _get(server.port, "/live")
        assert (status, body["output"]) == (503, "the event loop did not answer within 0.5 s")
        time.sleep(1.2)
    import urllib.error

    with pytest.raises(urllib.error.URLError):  # closed after the last hook stopped
        _get(server.port, "/ready")
