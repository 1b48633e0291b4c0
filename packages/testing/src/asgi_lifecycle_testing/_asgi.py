"""Harnesses for adapters that serve ASGI: `ASGIHarness` and the `ReferenceHarness`."""

from __future__ import annotations

import abc
import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from asgi_lifecycle import Lifespan, LifespanContext, LifespanMiddleware
from asgi_lifecycle.types import ASGIApp, Message, Receive, Scope, Send

from ._harness import HealthAnswer, Observation, Settings
from ._manager import LifespanManager, LifespanStartupFailed

__all__ = ("ASGIHarness", "ASGIRunning", "Probe", "ReferenceHarness")


class Probe:
    """The handler's side of `ASGIHarness`: what one request saw.

    The app an `ASGIHarness` builds routes ``GET`` `path` to a handler of the
    framework that calls `observe` with what it can read, then answers 200.

    It also says where the app serves the adapter's health endpoint, if it has
    one (`ASGIRunning.health` requests ``{health_path}/{probe}`` there).

    Attributes:
        path: The path the harness requests.
        health_path: Where `ASGIHarness.make_app` mounts the health endpoint.
    """

    path: ClassVar[str] = "/asgi-lifecycle/probe"
    health_path: ClassVar[str] = "/asgi-lifecycle/health"

    def __init__(self) -> None:
        self._observation: Observation | None = None

    def observe(
        self,
        state: Mapping[str, Any] | None,
        context: LifespanContext | None = None,
        **details: Any,
    ) -> None:
        """Record what the handler saw; call it from the handler of `path`.

        Args:
            state: The lifespan state as the handler reads it (``request.state``
                turned into a mapping, or ``scope["state"]``); ``None`` if absent.
            context: The `LifespanContext`, if the framework hands it to handlers.
            **details: Anything else worth reporting.
        """
        self._observation = Observation(dict(state or {}), context, details)

    def take(self) -> Observation:
        """Return the last observation and forget it."""
        observation, self._observation = self._observation, None
        if observation is None:
            raise AssertionError(
                f"the handler of {self.path} answered without calling probe.observe(...)"
            )
        return observation


async def _get(
    app: ASGIApp, path: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> tuple[int, bytes]:
    """Serve one ``GET path`` with ``app``, in-process; return the status and body."""
    complete = asyncio.Event()
    status: int | None = None
    body = bytearray()
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                complete.set()

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    if status is None:
        raise AssertionError(f"GET {path}: the app returned without starting a response")
    return status, bytes(body)


class ASGIRunning:
    """The `Running` of an `ASGIHarness`: one ``GET`` of the probe per `perform`.

    Attributes:
        app: The started app, handing each request a copy of the lifespan state
            (send your own requests to it, e.g. with ``httpx.ASGITransport``).
        manager: The `LifespanManager` driving the app's lifespan.
        probe: The `Probe` the app's handler reports to.
    """

    def __init__(self, manager: LifespanManager, probe: Probe) -> None:
        self.manager = manager
        self.app: ASGIApp = manager.app
        self.probe = probe

    async def perform(self) -> Observation:
        """Serve ``GET`` of the probe's path and return what its handler observed."""
        status, body = await _get(self.app, self.probe.path)
        if status != 200:
            raise AssertionError(
                f"GET {self.probe.path} answered {status}: {body[:2000].decode(errors='replace')}"
            )
        return self.probe.take()

    async def health(self, probe: str, *, authorization: str | None = None) -> HealthAnswer:
        """Serve ``GET {Probe.health_path}/{probe}`` and return the answer."""
        path = f"{self.probe.health_path}/{probe}"
        headers = () if authorization is None else ((b"authorization", authorization.encode()),)
        status, body = await _get(self.app, path, headers)
        return HealthAnswer(status, body.decode(errors="replace"))


class ASGIHarness(abc.ABC):
    """A `Harness` for adapters that serve ASGI: implement `make_app`, nothing else.

    `run` builds the app, drives its lifespan with a `LifespanManager` (so a
    startup failure surfaces as `LifespanStartupFailed`, a `NativeStartupFailure`,
    and a shutdown failure as `LifespanShutdownFailed`), and each `perform`
    serves one ``GET`` of `Probe.path` in-process. It also holds the app to
    the protocol rule servers rely on: after ``lifespan.startup.failed`` the
    app must raise, or servers in ``--lifespan auto`` mode serve anyway.

    Attributes:
        startup_timeout: Seconds the app may take to answer ``lifespan.startup``.
        shutdown_timeout: Seconds the app may take to answer ``lifespan.shutdown``.
    """

    startup_timeout: ClassVar[float | None] = 30.0
    shutdown_timeout: ClassVar[float | None] = 30.0

    @abc.abstractmethod
    def make_app(self, lifespan: Lifespan, settings: Settings, probe: Probe, /) -> ASGIApp:
        """Build the app with the adapter installed, as a user would.

        Args:
            lifespan: The registry the adapter must run (not the process-wide one).
            settings: The service type, environment and config to configure it with.
            probe: Route ``GET probe.path`` to a handler that calls
                ``probe.observe(state, context)`` and answers 200; serve the
                adapter's health endpoint under ``probe.health_path``, with
                ``settings.health_token`` as its token (or declare
                ``Capabilities(health_endpoint=False)``).

        Returns:
            The ASGI application a server would be given.
        """

    @contextlib.asynccontextmanager
    async def run(self, lifespan: Lifespan, settings: Settings, /) -> AsyncIterator[ASGIRunning]:
        """Start the app's lifespan, yield an `ASGIRunning`, shut the lifespan down on exit."""
        probe = Probe()
        app = self.make_app(lifespan, settings, probe)
        manager = LifespanManager(
            app, startup_timeout=self.startup_timeout, shutdown_timeout=self.shutdown_timeout
        )
        try:
            await manager.__aenter__()
        except LifespanStartupFailed as failure:
            if failure.app_error is None:
                raise AssertionError(
                    "the app answered lifespan.startup.failed and then returned instead of "
                    "raising: servers in '--lifespan auto' mode (uvicorn's default) then log "
                    "'lifespan unsupported' and serve anyway. Send the message, then re-raise. "
                    f"The message was: {failure.message}"
                ) from failure
            raise
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_exit(manager)
            yield ASGIRunning(manager, probe)


class ReferenceHarness(ASGIHarness):
    """The reference `Harness`: a bare ASGI app wrapped in `LifespanMiddleware`.

    The contract suite's self-test, and the worked example for adapter authors
    (its `make_app` is the whole adapter-specific part).
    """

    def make_app(self, lifespan: Lifespan, settings: Settings, probe: Probe) -> ASGIApp:
        """Wrap an app whose only handler reads ``scope["state"]`` in `LifespanMiddleware`."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":  # no lifespan of its own: the middleware handles it
                raise ValueError("http only")
            probe.observe(scope.get("state"))  # the handler reads the state
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"observed"})

        return LifespanMiddleware(
            app,
            lifespan=lifespan,
            service_type=settings.service_type,
            environment=settings.environment,
            config=settings.config,
            health_path=probe.health_path,
            health_token=settings.health_token,
        )
