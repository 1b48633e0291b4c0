from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from asgi_lifecycle import Lifespan, LifespanContext, LifespanMiddleware
from asgi_lifecycle.types import Message, Receive, Scope, Send

from . import _django_urls

pytestmark = pytest.mark.anyio


class Server:
    """Drives an app's lifespan with raw ASGI messages, as a server does."""

    def __init__(self, app: Any, *, state: bool = True) -> None:
        self.app = app
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Message] = []
        self.scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        if state:
            self.scope["state"] = {}
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> Message:
        return await self.inbox.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def _answer(self, count: int) -> None:
        assert self.task is not None
        while len(self.sent) < count and not self.task.done():
            await asyncio.sleep(0.001)

    async def startup(self) -> Message:
        self.task = asyncio.create_task(self.app(self.scope, self.receive, self.send))
        await self.inbox.put({"type": "lifespan.startup"})
        await asyncio.wait_for(self._answer(1), 5)
        return self.sent[0]

    async def shutdown(self) -> Message:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self._answer(2), 5)
        return self.sent[1]

    async def finish(self) -> BaseException | None:
        assert self.task is not None
        await asyncio.wait_for(asyncio.wait({self.task}), 5)
        return None if self.task.cancelled() else self.task.exception()

    async def request(self, path: str = "/") -> tuple[int, bytes]:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": [(b"host", b"test")], "client": ("127.0.0.1", 1),
            "server": ("test", 80), "state": dict(self.scope.get("state", {})),
        }  # fmt: skip
        messages: list[Message] = []

        requested = False

        async def receive() -> Message:
            nonlocal requested
            if requested:  # like a server: nothing more until the client disconnects
                await asyncio.Event().wait()
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        return start["status"], body


async def state_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A bare ASGI app without lifespan support that echoes its request state."""
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope {scope['type']}")
    body = repr(sorted(scope.get("state", {}).items())).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def build(events: list[str], **options: Any) -> Lifespan:
    lp = Lifespan(**options)

    @lp.resource(key="db")
    async def database(ctx: LifespanContext) -> AsyncIterator[str]:
        events.append(f"db up {ctx.service_type}")
        yield "DB"
        events.append("db down")

    return lp


async def test_bare_app_gets_startup_state_and_shutdown(events: list[str]) -> None:
    """A bare app gains lifespan: startup.complete, state in requests, shutdown.complete."""
    app = LifespanMiddleware(state_app, lifespan=build(events), service_type="api")
    server = Server(app)
    assert await server.startup() == {"type": "lifespan.startup.complete"}
    assert server.scope["state"] == {"db": "DB"}
    assert await server.request() == (200, b"[('db', 'DB')]")
    assert await server.shutdown() == {"type": "lifespan.shutdown.complete"}
    assert await server.finish() is None
    assert events == ["db up api", "db down"]


async def test_startup_failure_sends_failed_then_raises(events: list[str]) -> None:
    """A failing critical hook is answered with startup.failed and a traceback, then raised."""
    lp = build(events)

    @lp.on_start(priority=1)
    async def check_broker() -> None:
        raise ConnectionError("broker unreachable")

    server = Server(LifespanMiddleware(state_app, lifespan=lp))
    answer = await server.startup()
    assert answer["type"] == "lifespan.startup.failed"
    assert "check_broker" in answer["message"]
    assert "ConnectionError: broker unreachable" in answer["message"]
    assert "Traceback" in answer["message"]
    error = await server.finish()
    assert error is not None
    assert "check_broker" in str(error)
    assert len(server.sent) == 1
    assert events == ["db up app", "db down"]


async def test_cancelled_startup_still_answers_failed(events: list[str]) -> None:
    """A CancelledError during startup still produces startup.failed before propagating."""
    lp = build(events)

    @lp.on_start(priority=1)
    async def cancelled() -> None:
        raise asyncio.CancelledError

    server = Server(LifespanMiddleware(state_app, lifespan=lp))
    answer = await server.startup()
    assert answer["type"] == "lifespan.startup.failed"
    await server.finish()
    assert server.task is not None
    assert server.task.cancelled()
    assert events == ["db up app", "db down"]


async def test_shutdown_failure_is_reported_once(events: list[str]) -> None:
    """A failing shutdown hook yields one shutdown.failed that names it."""
    lp = build(events)

    @lp.on_shutdown
    def flush() -> None:
        raise OSError("disk full")

    server = Server(LifespanMiddleware(state_app, lifespan=lp))
    await server.startup()
    answer = await server.shutdown()
    assert answer["type"] == "lifespan.shutdown.failed"
    assert "flush" in answer["message"]
    assert "disk full" in answer["message"]
    assert await server.finish() is None
    assert len(server.sent) == 2
    assert events[-1] == "db down"


async def test_server_without_state_fails_loudly_when_state_is_published(
    events: list[str],
) -> None:
    """Without lifespan state support, publishing state fails startup and says why."""
    server = Server(LifespanMiddleware(state_app, lifespan=build(events)), state=False)
    answer = await server.startup()
    assert answer["type"] == "lifespan.startup.failed"
    assert "sent no 'state'" in answer["message"]
    assert "db" in answer["message"]
    assert await server.finish() is not None
    assert events == ["db up app", "db down"]


async def test_server_without_state_is_fine_when_nothing_is_published() -> None:
    """Hooks that publish nothing run under a server without lifespan state."""
    lp = Lifespan()
    ran: list[str] = []
    lp.on_start(name="x")(lambda: ran.append("x"))
    server = Server(LifespanMiddleware(state_app, lifespan=lp), state=False)
    assert (await server.startup())["type"] == "lifespan.startup.complete"
    assert (await server.shutdown())["type"] == "lifespan.shutdown.complete"
    assert ran == ["x"]


async def test_http_before_startup_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    """A request before any lifespan startup logs one loud warning naming the fix."""
    app = LifespanMiddleware(state_app, lifespan=Lifespan())
    server = Server(app)
    with caplog.at_level(logging.WARNING, "asgi_lifecycle"):
        await server.request()
        await server.request()
    warnings = [r for r in caplog.records if "before any lifespan startup" in r.getMessage()]
    assert len(warnings) == 1
    assert "--lifespan on" in warnings[0].getMessage()


class InnerLifespanApp:
    """An app with a lifespan of its own, written to the spec by hand."""

    def __init__(
        self, events: list[str], *, fail_startup: bool = False, state_key: str = "inner"
    ) -> None:
        self.events = events
        self.fail_startup = fail_startup
        self.state_key = state_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await state_app(scope, receive, send)
            return
        message = await receive()
        assert message["type"] == "lifespan.startup"
        self.events.append(f"inner up, sees {sorted(scope['state'])}")
        if self.fail_startup:
            await send({"type": "lifespan.startup.failed", "message": "inner broke"})
            return
        scope["state"][self.state_key] = "INNER"
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        assert message["type"] == "lifespan.shutdown"
        self.events.append("inner down")
        await send({"type": "lifespan.shutdown.complete"})


async def test_inner_lifespan_runs_inside_ours(events: list[str]) -> None:
    """The wrapped app starts after our hooks and stops before them; both states merge."""
    app = LifespanMiddleware(InnerLifespanApp(events), lifespan=build(events))
    server = Server(app)
    assert (await server.startup())["type"] == "lifespan.startup.complete"
    assert await server.request() == (200, b"[('db', 'DB'), ('inner', 'INNER')]")
    assert (await server.shutdown())["type"] == "lifespan.shutdown.complete"
    assert await server.finish() is None
    assert events == ["db up app", "inner up, sees ['db']", "inner down", "db down"]


async def test_inner_startup_failure_rolls_ours_back(events: list[str]) -> None:
    """When the wrapped app's startup fails, ours is shut down and the failure forwarded."""
    app = LifespanMiddleware(InnerLifespanApp(events, fail_startup=True), lifespan=build(events))
    server = Server(app)
    answer = await server.startup()
    assert answer == {"type": "lifespan.startup.failed", "message": "inner broke"}
    error = await server.finish()
    assert error is not None
    assert "inner broke" in str(error)
    assert len(server.sent) == 1
    assert events == ["db up app", "inner up, sees ['db']", "db down"]


async def test_inner_state_key_clash_is_an_error(events: list[str]) -> None:
    """A state key published by both the wrapped app and our hooks fails, naming the key."""
    app = LifespanMiddleware(InnerLifespanApp(events, state_key="db"), lifespan=build(events))
    server = Server(app)
    answer = await server.startup()
    assert answer["type"] == "lifespan.startup.failed"
    assert "['db']" in answer["message"]
    assert await server.finish() is not None
    assert events[-1] == "db down"


async def test_starlette_app_keeps_its_own_lifespan(events: list[str]) -> None:
    """A wrapped Starlette app's lifespan runs after our hooks and stops before them."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    @contextlib.asynccontextmanager
    async def own(app: Starlette) -> AsyncIterator[dict[str, str]]:
        events.append("starlette up")
        yield {"client": "CLIENT"}
        events.append("starlette down")

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{request.state.db} {request.state.client}")

    inner = Starlette(routes=[Route("/", home)], lifespan=own)
    server = Server(LifespanMiddleware(inner, lifespan=build(events)))
    assert (await server.startup())["type"] == "lifespan.startup.complete"
    assert await server.request() == (200, b"DB CLIENT")
    assert (await server.shutdown())["type"] == "lifespan.shutdown.complete"
    assert await server.finish() is None
    assert events == ["db up app", "starlette up", "starlette down", "db down"]


async def test_starlette_startup_failure_is_forwarded(events: list[str]) -> None:
    """A failing Starlette lifespan rolls our hooks back and fails the startup once."""
    from starlette.applications import Starlette

    @contextlib.asynccontextmanager
    async def own(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("starlette broke")
        yield

    server = Server(LifespanMiddleware(Starlette(lifespan=own), lifespan=build(events)))
    answer = await server.startup()
    assert answer["type"] == "lifespan.startup.failed"
    assert "starlette broke" in answer["message"]
    assert await server.finish() is not None
    assert len(server.sent) == 1
    assert events == ["db up app", "db down"]


async def test_django_stock_handler_keeps_working(events: list[str]) -> None:
    """Django's stock ASGI handler, which rejects lifespan, runs our hooks and serves."""
    django = pytest.importorskip("django")
    from django.conf import settings
    from django.test.utils import override_settings

    if not settings.configured:  # the first Django test of the session configures it
        settings.configure(ALLOWED_HOSTS=["*"], SECRET_KEY="test", INSTALLED_APPS=[])
    django.setup()
    from django.core.asgi import get_asgi_application

    server = Server(LifespanMiddleware(get_asgi_application(), lifespan=build(events)))
    assert (await server.startup())["type"] == "lifespan.startup.complete"
    with override_settings(ROOT_URLCONF=_django_urls.__name__, ALLOWED_HOSTS=["*"]):
        status, body = await server.request("/state/")
    assert (status, body) == (200, b"DB")
    assert (await server.shutdown())["type"] == "lifespan.shutdown.complete"
    assert await server.finish() is None
    assert events == ["db up app", "db down"]


async def test_shutdown_failed_names_every_failed_hook() -> None:
    """ShutdownFailed carries the report and names each hook that failed at shutdown."""
    from asgi_lifecycle import ShutdownFailed

    lp = Lifespan()

    @lp.on_shutdown
    def one() -> None:
        raise OSError("first")

    @lp.on_shutdown
    def two() -> None:
        raise OSError("second")

    await lp.startup(LifespanContext("app"))
    report = await lp.shutdown(LifespanContext("app"))
    error = ShutdownFailed(report)
    assert error.report is report
    assert "one stop failed: OSError: first" in str(error)
    assert "two stop failed: OSError: second" in str(error)


async def test_context_is_exposed_while_running(events: list[str]) -> None:
    """The middleware's context is the run's from startup until shutdown, else None."""
    app = LifespanMiddleware(state_app, lifespan=build(events), service_type="api")
    assert app.context is None
    server = Server(app)
    await server.startup()
    assert app.context is not None
    assert app.context.service_type == "api"
    assert app.context.state == {"db": "DB"}
    await server.shutdown()
    await server.finish()
    assert app.context is None


async def test_warning_carries_the_framework_hint(caplog: pytest.LogCaptureFixture) -> None:
    """An adapter's hint is appended to the warning about a request before startup."""
    app = LifespanMiddleware(state_app, lifespan=Lifespan(), hint="Use the WSGI entry point.")
    with caplog.at_level(logging.WARNING, "asgi_lifecycle"):
        await Server(app).request()
    assert "Use the WSGI entry point." in caplog.text
