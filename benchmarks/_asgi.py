"""ASGI pieces shared by the benchmarks and the peer worker: standard library only.

The peer worker runs in an environment of its own (asgi-lifecycle 0.0.2 has our import
name), so everything both sides measure with lives here, and both sides time the very
same loops.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from time import perf_counter, perf_counter_ns
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")],
}
BODY: Message = {"type": "http.response.body", "body": b"ok", "more_body": False}
REQUEST: Message = {"type": "http.request", "body": b"", "more_body": False}

# What every variant's requests carry as lifespan state: the same one-key dict for all of
# them, copied per request as servers do, so that this copy costs every variant the same.
STATE: dict[str, Any] = {"db": object()}


async def minimal_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The smallest useful ASGI app: answers every http request with ``ok``.

    Like Django's stock handler it supports nothing else, and says so by raising
    before it receives anything (lifespan middlewares take that as "no lifespan").
    """
    if scope["type"] != "http":
        raise ValueError(f"unsupported scope type {scope['type']!r}")
    await send(START)
    await send(BODY)


class PassThrough:
    """The empty middleware a user would write: an ``async def __call__`` awaiting the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class ReturningPassThrough:
    """An empty middleware returning the app's coroutine instead of awaiting it.

    A reference point only: servers on Python 3.11 take a plain ``def __call__`` for
    an ASGI 2 app, so a real middleware cannot simply be written this way.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        return self.app(scope, receive, send)  # type: ignore[no-any-return]


def http_scope(path: str = "/") -> Scope:
    """A complete ``http`` scope, as uvicorn builds it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")],
    }


async def receive_request() -> Message:
    """The ``receive`` of a bodiless request."""
    return REQUEST


async def discard(message: Message) -> None:
    """A ``send`` that drops the message."""


async def time_requests(app: Any, count: int, path: str = "/") -> float:
    """Serve ``count`` requests for ``path`` one after another; return nanoseconds per request."""
    base = http_scope(path)
    state = STATE
    start = perf_counter_ns()
    for _ in range(count):
        scope = base.copy()
        scope["state"] = state.copy()
        await app(scope, receive_request, discard)
    return (perf_counter_ns() - start) / count


async def check_response(app: Any, path: str = "/") -> None:
    """Raise unless ``app`` answers one request for ``path`` with status 200."""
    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    scope = http_scope(path)
    scope["state"] = STATE.copy()
    await app(scope, receive_request, record)
    if not sent or sent[0].get("status") != 200:
        raise RuntimeError(f"{app!r} did not answer 200: {sent!r}")


class LifespanDriver:
    """Plays the server's side of the ASGI lifespan protocol for one app."""

    def __init__(self, app: Any, timeout: float = 120.0) -> None:
        self.app = app
        self.timeout = timeout
        self.scope: Scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": {},
        }
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _receive(self) -> Message:
        return await self._inbox.get()

    async def _send(self, message: Message) -> None:
        await self._outbox.put(message)

    async def _answer(self, task: asyncio.Task[None]) -> Message:
        get = asyncio.ensure_future(self._outbox.get())
        done, _ = await asyncio.wait(
            {get, task}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if get in done:
            return get.result()
        get.cancel()
        if task in done:
            task.result()  # raises what the app raised
            raise RuntimeError(f"{self.app!r} returned from lifespan without answering")
        raise TimeoutError(f"{self.app!r} did not answer lifespan within {self.timeout} s")

    async def startup(self) -> float:
        """Send ``lifespan.startup``; return the seconds until ``startup.complete``."""
        task = self._task = asyncio.ensure_future(self.app(self.scope, self._receive, self._send))
        start = perf_counter()
        await self._inbox.put({"type": "lifespan.startup"})
        answer = await self._answer(task)
        elapsed = perf_counter() - start
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"startup failed: {answer.get('message')}")
        return elapsed

    async def shutdown(self) -> float:
        """Send ``lifespan.shutdown``; return the seconds until ``shutdown.complete``."""
        task = self._task
        if task is None:
            raise RuntimeError("shutdown() before startup()")
        start = perf_counter()
        await self._inbox.put({"type": "lifespan.shutdown"})
        answer = await self._answer(task)
        elapsed = perf_counter() - start
        await asyncio.wait_for(task, self.timeout)
        self._task = None
        if answer["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"shutdown failed: {answer.get('message')}")
        return elapsed


async def sleep_all_sequentially(count: int, delay: float) -> None:
    """The sequential floor: ``count`` sleeps one after another."""
    for _ in range(count):
        await asyncio.sleep(delay)


async def sleep_all_concurrently(count: int, delay: float) -> None:
    """The critical-path floor: ``count`` sleeps under one ``asyncio.gather``."""
    await asyncio.gather(*(asyncio.sleep(delay) for _ in range(count)))


async def timed(work: Awaitable[Any]) -> float:
    """Await ``work``; return the seconds it took."""
    start = perf_counter()
    await work
    return perf_counter() - start


def starlette_app() -> Any:
    """A minimal Starlette app with a lifespan, or ``None`` when Starlette is not installed."""
    try:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route
    except ImportError:
        return None

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        yield {"db": object()}

    return Starlette(routes=[Route("/", home)], lifespan=lifespan)
