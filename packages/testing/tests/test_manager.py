"""LifespanManager against real Starlette and bare ASGI apps."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from asgi_lifecycle import Lifespan, LifespanMiddleware
from asgi_lifecycle.types import ASGIApp, Message, Receive, Scope, Send
from asgi_lifecycle_testing import (
    LifespanManager,
    LifespanNotSupported,
    LifespanProtocolError,
    LifespanShutdownFailed,
    LifespanStartupFailed,
    NativeShutdownFailure,
    NativeStartupFailure,
)

pytestmark = pytest.mark.anyio


class Counter:
    """A mutable object in the lifespan state."""

    def __init__(self) -> None:
        self.hits = 0


def starlette_app(events: list[str], *, fail: str | None = None) -> Starlette:
    """A Starlette app whose lifespan publishes a counter and a name."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        if fail == "startup":
            raise RuntimeError("the database is down")
        yield {"counter": Counter(), "name": "original"}
        events.append("shutdown")
        if fail == "shutdown":
            raise RuntimeError("the flush failed")

    async def hit(request: Request) -> Response:
        request.state.counter.hits += 1
        seen = request.state.name
        request.state.name = "rebound"  # rebinding stays in this request's copy
        return JSONResponse({"hits": request.state.counter.hits, "name": seen})

    return Starlette(routes=[Route("/hit", hit)], lifespan=lifespan)


async def get(app: ASGIApp, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


def bare(*answers: Message, after: str = "wait") -> ASGIApp:
    """A bare lifespan app: answers startup, then shutdown, with the given messages.

    ``after`` is what it does once it has sent its startup answer: ``"wait"`` for
    shutdown as it should, ``"return"`` or ``"raise"`` at once.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        await send(answers[0])
        if after == "return":
            return
        if after == "raise":
            raise RuntimeError("the app broke after answering")
        await receive()
        if len(answers) > 1:
            await send(answers[1])

    return app


async def test_starlette_state_reaches_requests_as_a_shallow_copy() -> None:
    """Each request sees the lifespan state as a shallow copy: mutations persist, rebindings do not."""  # noqa: E501
    events: list[str] = []
    async with LifespanManager(starlette_app(events)) as manager:
        assert events == ["startup"]
        assert set(manager.state) == {"counter", "name"}
        first = (await get(manager.app, "/hit")).json()
        second = (await get(manager.app, "/hit")).json()
    assert events == ["startup", "shutdown"]
    assert first == {"hits": 1, "name": "original"}
    assert second == {"hits": 2, "name": "original"}
    assert manager.state["name"] == "original"
    assert manager.supported is True


async def test_hooks_state_reaches_starlette_through_the_middleware() -> None:
    """The state our hooks publish reaches Starlette's handlers through manager.app."""
    lp = Lifespan()

    @lp.resource
    async def db() -> AsyncIterator[str]:
        yield "DB"

    async def show(request: Request) -> Response:
        return JSONResponse({"db": request.state.db})

    app = LifespanMiddleware(Starlette(routes=[Route("/", show)]), lifespan=lp)
    async with LifespanManager(app) as manager:
        assert (await get(manager.app, "/")).json() == {"db": "DB"}


async def test_lifespan_scope_carries_asgi_version_and_state() -> None:
    """The lifespan scope carries the asgi versions and the state dict the manager exposes."""
    scopes: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scopes.append(scope)
        await receive()
        scope["state"]["ready"] = True
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    async with LifespanManager(app) as manager:
        assert manager.state == {"ready": True}
    assert scopes[0]["asgi"] == {"version": "3.0", "spec_version": "2.0"}
    assert scopes[0]["state"] is manager.state


async def test_startup_failed_raises_with_the_apps_message() -> None:
    """A lifespan.startup.failed from Starlette raises LifespanStartupFailed with its message and error."""  # noqa: E501
    events: list[str] = []
    with pytest.raises(LifespanStartupFailed) as info:
        async with LifespanManager(starlette_app(events, fail="startup")):
            pytest.fail("the block must not run")  # pragma: no cover
    assert "the database is down" in info.value.message
    assert info.value.channel == "lifespan.startup.failed"
    assert type(info.value.app_error) is RuntimeError
    assert isinstance(info.value, NativeStartupFailure)


async def test_startup_error_of_the_app_matches_its_own_class() -> None:
    """An app that raises MyError at startup raises an error that is both MyError and LifespanStartupFailed."""  # noqa: E501

    class MyError(Exception):
        def __init__(self, code: int) -> None:
            super().__init__(f"error {code}")
            self.code = code

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise MyError(7)
        yield  # pragma: no cover

    with pytest.raises(MyError, match=r"^error 7") as info:
        async with LifespanManager(Starlette(lifespan=lifespan)):
            pytest.fail("the block must not run")  # pragma: no cover
    error = info.value
    assert isinstance(error, LifespanStartupFailed)
    assert error.code == 7
    assert type(error.app_error) is MyError
    assert error.app_error.code == 7
    assert "error 7" in error.message  # Starlette's traceback
    assert "lifespan.startup.failed" in error.__notes__[-1]
    assert not getattr(error.app_error, "__notes__", [])  # the app's own error is untouched
    # The traceback is the app's: its frames, down to the raise in the lifespan.
    assert info.traceback[-1].name == "lifespan"


async def test_shutdown_error_of_the_app_matches_its_own_class() -> None:
    """An app that raises MyError at shutdown raises an error that is both MyError and LifespanShutdownFailed."""  # noqa: E501

    class MyError(Exception):
        pass

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        raise MyError("flush failed")

    with pytest.raises(MyError, match="flush failed") as info:
        async with LifespanManager(Starlette(lifespan=lifespan)):
            pass
    assert isinstance(info.value, LifespanShutdownFailed)
    assert isinstance(info.value, NativeShutdownFailure)
    assert type(info.value.app_error) is MyError


async def test_startup_error_that_cannot_be_combined_stays_wrapped() -> None:
    """An app raising a BaseException after lifespan.startup.failed raises a plain LifespanStartupFailed caused by it."""  # noqa: E501

    class Stop(BaseException):
        pass

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "stopping"})
        raise Stop

    with pytest.raises(LifespanStartupFailed, match="stopping") as info:
        async with LifespanManager(app):
            pass  # pragma: no cover
    assert type(info.value) is LifespanStartupFailed
    assert type(info.value.__cause__) is Stop


async def test_startup_failed_without_raising_still_raises() -> None:
    """An app that sends lifespan.startup.failed and returns, as Quart does, still fails the startup at once."""  # noqa: E501
    app = bare({"type": "lifespan.startup.failed", "message": "no config"}, after="return")
    with pytest.raises(LifespanStartupFailed, match="no config") as info:
        async with LifespanManager(app):
            pass  # pragma: no cover
    assert info.value.app_error is None


async def test_startup_failed_then_waiting_still_raises() -> None:
    """An app that sends lifespan.startup.failed and then waits on receive() is stopped and the failure raised."""  # noqa: E501
    app = bare({"type": "lifespan.startup.failed", "message": "no config"})
    with pytest.raises(LifespanStartupFailed, match="no config"):
        async with LifespanManager(app):
            pass  # pragma: no cover


async def test_shutdown_failed_raises_with_the_apps_message() -> None:
    """A lifespan.shutdown.failed from Starlette raises LifespanShutdownFailed on exit."""
    events: list[str] = []
    with pytest.raises(LifespanShutdownFailed) as info:
        async with LifespanManager(starlette_app(events, fail="shutdown")):
            pass
    assert "the flush failed" in info.value.message
    assert isinstance(info.value, NativeShutdownFailure)
    assert events == ["startup", "shutdown"]


async def test_startup_timeout_cancels_the_app() -> None:
    """An app that never answers startup raises TimeoutError and is cancelled."""
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    with pytest.raises(TimeoutError, match="startup_timeout"):
        async with LifespanManager(app, startup_timeout=0.05):
            pass  # pragma: no cover
    assert events == ["cancelled"]


async def test_shutdown_timeout_cancels_the_app() -> None:
    """An app that never answers shutdown raises TimeoutError on exit and is cancelled."""
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    with pytest.raises(TimeoutError, match="shutdown_timeout"):
        async with LifespanManager(app, shutdown_timeout=0.05):
            pass
    assert events == ["cancelled"]


async def django_like(scope: Scope, receive: Receive, send: Send) -> None:
    """An app without lifespan support, rejecting the scope as Django's handler does."""
    if scope["type"] != "http":
        raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": repr(scope.get("state")).encode()})


async def returns_early(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that ignores every scope but http."""
    if scope["type"] != "http":
        return
    await django_like(scope, receive, send)  # pragma: no cover


async def sends_first(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that answers every scope with an http response."""
    await send({"type": "http.response.start", "status": 200, "headers": []})


@pytest.mark.parametrize("app", [django_like, returns_early, sends_first])
async def test_unsupported_lifespan_raises(app: ASGIApp) -> None:
    """An app that raises, returns or sends before its first receive() has no lifespan support."""
    with pytest.raises(LifespanNotSupported, match="tolerate_unsupported"):
        async with LifespanManager(app):
            pass  # pragma: no cover


async def test_unsupported_lifespan_tolerated() -> None:
    """With tolerate_unsupported=True an app without lifespan runs, with an empty state."""
    async with LifespanManager(django_like, tolerate_unsupported=True) as manager:
        assert manager.supported is False
        assert (await get(manager.app, "/")).text == "{}"


async def test_several_cycles_in_one_process() -> None:
    """One manager, and one app under several managers, run several cycles, each with fresh state."""  # noqa: E501
    events: list[str] = []
    app = starlette_app(events)
    manager = LifespanManager(app)
    counters = []
    for _ in range(2):
        async with manager:
            counters.append(manager.state["counter"])
        async with LifespanManager(app) as other:
            counters.append(other.state["counter"])
    assert events == ["startup", "shutdown"] * 4
    assert len({id(counter) for counter in counters}) == 4


async def test_entering_a_running_manager_is_an_error() -> None:
    """Entering a manager that is already running is refused with a clear error."""
    async with LifespanManager(starlette_app([])) as manager:
        with pytest.raises(RuntimeError, match="already running"):
            await manager.__aenter__()


@pytest.mark.parametrize(
    ("app", "match"),
    [
        (
            bare({"type": "lifespan.startup.complete"}, {"type": "lifespan.startup.complete"}),
            "'lifespan.startup.complete' in answer to lifespan.shutdown",
        ),
        (bare({"type": "lifespan.shutdown.complete"}), "in answer to lifespan.startup"),
        (bare({"type": "lifespan.startup.complete"}, after="return"), "before lifespan.shutdown"),
        (bare({"type": "lifespan.startup.complete"}), "without answering lifespan.shutdown"),
    ],
    ids=["answer-twice", "wrong-answer", "return-while-serving", "no-shutdown-answer"],
)
async def test_protocol_errors_are_named(app: ASGIApp, match: str) -> None:
    """A message out of turn, or a phase never answered, raises LifespanProtocolError naming it."""
    with pytest.raises(LifespanProtocolError, match=match):
        async with LifespanManager(app):
            pass


async def test_receive_before_answering_is_a_protocol_error() -> None:
    """Calling receive() again before answering startup raises LifespanProtocolError."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await receive()

    with pytest.raises(LifespanProtocolError, match=r"before answering lifespan\.startup"):
        async with LifespanManager(app):
            pass  # pragma: no cover


async def test_startup_exception_without_failed_message_is_raised() -> None:
    """An app that raises during startup without sending startup.failed raises its own error."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise KeyError("settings")

    with pytest.raises(KeyError, match="settings") as info:
        async with LifespanManager(app):
            pass  # pragma: no cover
    assert any("without sending lifespan.startup.failed" in note for note in info.value.__notes__)


async def test_crash_while_serving_is_raised_at_exit() -> None:
    """An app whose lifespan raises after startup.complete has its error raised on exit."""
    app = bare({"type": "lifespan.startup.complete"}, after="raise")
    with pytest.raises(RuntimeError, match="broke after answering"):
        async with LifespanManager(app):
            await asyncio.sleep(0)


async def test_body_error_still_shuts_down() -> None:
    """An error in the block propagates after the lifespan was shut down."""
    events: list[str] = []
    with pytest.raises(ZeroDivisionError):
        async with LifespanManager(starlette_app(events)):
            _ = 1 / 0
    assert events == ["startup", "shutdown"]


async def test_body_error_notes_a_failed_shutdown() -> None:
    """An error in the block propagates with a note when the shutdown fails too."""
    with pytest.raises(ZeroDivisionError) as info:
        async with LifespanManager(starlette_app([], fail="shutdown")):
            _ = 1 / 0
    assert any("the flush failed" in note for note in info.value.__notes__)


async def test_body_error_without_shutdown_on_request() -> None:
    """With shutdown_on_error=False an error in the block cancels the app without a shutdown, as asgi-lifespan does."""  # noqa: E501
    events: list[str] = []
    received: list[str] = []
    inner = starlette_app(events)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def spy() -> Message:
            message = await receive()
            received.append(message["type"])
            return message

        await inner(scope, spy, send)

    with pytest.raises(ZeroDivisionError) as info:
        async with LifespanManager(app, shutdown_on_error=False):
            _ = 1 / 0
    assert received == ["lifespan.startup"]  # no lifespan.shutdown was sent
    assert events == ["startup"]  # the code after the lifespan's yield never ran
    assert not getattr(info.value, "__notes__", [])


async def test_app_error_on_cancellation_replaces_the_block_error() -> None:
    """With shutdown_on_error=False an app raising while it is cancelled raises that error instead of the block's."""  # noqa: E501

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            raise RuntimeError("the flush failed")

    with pytest.raises(RuntimeError, match="the flush failed") as info:
        async with LifespanManager(Starlette(lifespan=lifespan), shutdown_on_error=False):
            _ = 1 / 0
    assert isinstance(info.value.__context__, ZeroDivisionError)
    assert any("shutdown_on_error=False" in note for note in info.value.__notes__)


async def test_no_error_still_shuts_down_with_shutdown_on_error_false() -> None:
    """With shutdown_on_error=False a block that does not raise still shuts the app down."""
    events: list[str] = []
    async with LifespanManager(starlette_app(events), shutdown_on_error=False):
        pass
    assert events == ["startup", "shutdown"]


def test_bad_shutdown_on_error_is_refused() -> None:
    """A shutdown_on_error that is not a bool is refused, naming the option."""
    with pytest.raises(TypeError, match="shutdown_on_error"):
        LifespanManager(bare(), shutdown_on_error="no")  # type: ignore[arg-type]


async def test_cancelled_block_stops_the_app() -> None:
    """A block cancelled from outside stops the app's lifespan task and lets the cancellation through."""  # noqa: E501
    events: list[str] = []
    lp = Lifespan()

    @lp.on_shutdown
    async def flush() -> None:
        events.append("flush")

    app = LifespanMiddleware(Starlette(), lifespan=lp)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05), LifespanManager(app):
            await asyncio.Event().wait()
    assert events == ["flush"]


@pytest.mark.parametrize("value", [0, -1, "5", True])
def test_bad_timeout_is_refused(value: Any) -> None:
    """A timeout that is not a positive number of seconds or None is refused, naming it."""
    with pytest.raises(TypeError, match="startup_timeout"):
        LifespanManager(django_like, startup_timeout=value)


def test_non_callable_app_is_refused() -> None:
    """An app that is not callable is refused at once."""
    with pytest.raises(TypeError, match="ASGI application"):
        LifespanManager("app")  # type: ignore[arg-type]


async def test_an_exception_group_from_the_app_stays_the_cause() -> None:
    """An app whose startup raises an exception group gets a plain LifespanStartupFailed caused by it."""  # noqa: E501
    from asgi_lifecycle_testing import LifespanManager, LifespanStartupFailed

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})
        raise ExceptionGroup("startup", [RuntimeError("no database")])

    with pytest.raises(LifespanStartupFailed) as caught:
        async with LifespanManager(app):
            pass
    assert isinstance(caught.value.__cause__, ExceptionGroup)
    assert "no database" in str(caught.value)
