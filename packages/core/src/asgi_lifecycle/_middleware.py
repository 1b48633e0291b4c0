"""ASGI middleware that gives any application the lifespan protocol."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._calling import SyncRunner
from ._context import LifespanContext
from ._errors import LifecycleError, ShutdownFailed
from ._lifespan import Lifespan
from ._lifespan import lifespan as default_lifespan
from ._report import LifecycleReport

if TYPE_CHECKING:  # the public typing module costs import time that annotations do not need
    from ._endpoint import HealthApp
    from .types import AnyASGIApp, Message, Receive, Scope, Send

__all__ = ("LifespanMiddleware",)

logger = logging.getLogger("asgi_lifecycle")


def _failure_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)).rstrip()


class LifespanMiddleware:
    """Wraps any ASGI application and gives it the ASGI lifespan protocol.

    On the ``lifespan`` scope it runs the startup hooks, then the wrapped app's
    own lifespan if it has one (Starlette, FastAPI and Litestar do; Django's
    stock handler does not, which is fine); at shutdown the wrapped app stops
    first, then the hooks. Startup failures are answered with
    ``lifespan.startup.failed`` carrying the traceback, then re-raised so that
    every server stops. ``context.state`` is copied into the server's lifespan
    state, which servers copy into each request (``request.state``).

    ``http`` and ``websocket`` scopes go straight to the wrapped app. If one
    arrives before any lifespan startup (a server that never sends lifespan,
    such as Daphne, ``uvicorn --lifespan off`` or httpx's ``ASGITransport``),
    a warning naming the fix is logged once. With ``health_path``, requests
    under that path are answered by a `HealthApp` of this run instead
    (``…/ready``, ``…/live``), before the wrapped app sees them. Readiness
    turns false as soon as the server sends ``lifespan.shutdown``, before the
    wrapped app and the hooks stop.

    Args:
        app: The ASGI application to wrap.
        lifespan: The hook registry to run (default: the process-wide one).
        service_type: The service type of this process's run (default: the
            configured ``service_type``, else ``"app"``).
        environment: The environment (default: ``$ASGI_LIFECYCLE_ENV``, the
            configured ``environment``, or ``"development"``).
        config: The config mapping the hooks read with ``get_config`` (default:
            the configured ``config``).
        sync_runner: How sync hooks are run (see `Lifespan.startup`).
        hint: Added to the warning about a request that arrives before any
            lifespan startup: how to run the hooks in this framework.
        health_path: Answer health probes under this path (``"/health"``), or
            ``None`` for no health endpoint.
        health_details: Show error details in health responses to everyone.
        health_token: Show them to requests with ``Authorization: Bearer <token>``
            (default: ``$ASGI_LIFECYCLE_HEALTH_TOKEN``).

    Attributes:
        context: The run's `LifespanContext` from a successful startup until its
            shutdown, else ``None``.
    """

    def __init__(
        self,
        app: AnyASGIApp,
        *,
        lifespan: Lifespan = default_lifespan,
        service_type: str | None = None,
        environment: str | None = None,
        config: Mapping[str, Any] | None = None,
        sync_runner: SyncRunner | None = None,
        hint: str | None = None,
        health_path: str | None = None,
        health_details: bool = False,
        health_token: str | None = None,
    ) -> None:
        if not callable(app):
            raise TypeError(f"LifespanMiddleware(app) needs an ASGI application, got {app!r}")
        if not isinstance(lifespan, Lifespan):
            raise TypeError(
                f"LifespanMiddleware(lifespan=...) needs an asgi_lifecycle.Lifespan, got "
                f"{lifespan!r}"
            )
        LifespanContext(service_type, environment, config)  # validates the arguments now
        self.app = app
        self.lifespan = lifespan
        self.service_type = service_type
        self.environment = environment
        self.config = config
        self.sync_runner = sync_runner
        self.hint = hint
        self.context: LifespanContext | None = None
        self.health: HealthApp | None = None
        self._health_path = ""
        if health_path is not None:
            if not isinstance(health_path, str) or not health_path.startswith("/"):
                raise TypeError(
                    f"LifespanMiddleware(health_path=...) must be a path such as '/health', "
                    f"got {health_path!r}"
                )
            self._health_path = health_path.rstrip("/")
            from ._endpoint import HealthApp  # imported only by the apps that serve probes

            self.health = HealthApp(
                lifespan,
                service_type=service_type,
                environment=environment,
                details=health_details,
                token=health_token,
                prefix=self._health_path,
            )
        self._started = False
        self._warned = False
        # Per request: one test of this flag when neither health probes nor the warning
        # about a missing lifespan startup are due.
        self._intercept = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if self._intercept:
            await self._intercepted(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _intercepted(self, scope: Scope, receive: Receive, send: Send) -> None:
        health = self.health
        if health is not None and scope["type"] == "http":
            path: str = scope.get("path", "")
            prefix = self._health_path
            if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in ("", "/"):
                await health(scope, receive, send)
                return
        if not self._started and not self._warned:
            self._warn_not_started(scope)
        await self.app(scope, receive, send)

    def _settle(self) -> None:
        """Stop intercepting requests once nothing is left to intercept them for."""
        self._intercept = self.health is not None or not (self._started or self._warned)

    def _warn_not_started(self, scope: Scope) -> None:
        self._warned = True
        self._settle()
        logger.warning(
            "asgi-lifecycle: a %r request arrived before any lifespan startup, so the %r "
            "startup hooks have NOT run in this process. The server does not send the ASGI "
            "lifespan protocol (Daphne, 'uvicorn --lifespan off', Django runserver and httpx's "
            "ASGITransport never do). Run under a server that sends it ('uvicorn --lifespan on', "
            "hypercorn, granian), or start the hooks yourself (asgi_lifecycle_testing's "
            "LifespanManager in tests).%s",
            scope.get("type"), self.service_type or "app", f" {self.hint}" if self.hint else "",
        )  # fmt: skip

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        first = await receive()
        if first["type"] != "lifespan.startup":
            raise LifecycleError(f"expected a lifespan.startup message, got {first['type']!r}")
        context = LifespanContext(self.service_type, self.environment, self.config)
        try:
            await self.lifespan.startup(context, sync_runner=self.sync_runner)
        except BaseException as exc:
            await send({"type": "lifespan.startup.failed", "message": _failure_text(exc)})
            raise
        cycle = _Cycle(self, context, scope, first, receive, send)
        try:
            cycle.publish()
        except LifecycleError as exc:
            await self.lifespan.shutdown(context)
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            raise
        self.context = context
        try:
            await cycle.serve()
        finally:
            self.context = None


class _Cycle:
    """One lifespan cycle: ours started; the wrapped app's runs through two proxies."""

    def __init__(
        self,
        owner: LifespanMiddleware,
        context: LifespanContext,
        scope: Scope,
        first: Message,
        receive: Receive,
        send: Send,
    ) -> None:
        self.owner = owner
        self.context = context
        self.scope = scope
        self.first = first
        self.receive = receive
        self.send = send
        self.published: dict[str, Any] = {}
        self.received = 0
        self.started = False  # a startup answer was sent to the server
        self.finished = False  # a shutdown answer was sent, or no shutdown will come
        self.stopped = False  # our hooks were shut down
        self.inner_failed: str | None = None  # the wrapped app's startup.failed message

    def publish(self) -> None:
        self.published = dict(self.context.state)
        if not self.published:
            return
        state = self.scope.get("state")
        if state is None:
            raise LifecycleError(
                f"the server sent no 'state' in the lifespan scope, so the state the hooks "
                f"published ({', '.join(sorted(self.published))}) cannot reach requests. Use "
                f"a server that supports lifespan state (uvicorn, hypercorn >= 0.15, granian), "
                f"or keep those values somewhere else than context.state"
            )
        state.update(self.published)

    async def stop_ours(self) -> LifecycleReport | None:
        if self.stopped:
            return None
        self.stopped = True
        return await self.owner.lifespan.shutdown(self.context)

    async def inner_receive(self) -> Message:
        self.received += 1
        if self.received == 1:
            return self.first
        message = await self.receive()
        if message["type"] == "lifespan.shutdown":
            self.drain()
        return message

    def drain(self) -> None:
        """Readiness off: the server stopped taking requests; the stopping begins."""
        self.owner.lifespan.mark_draining(self.context.service_type, self.context.environment)

    async def inner_send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            state = self.scope.get("state") or {}
            clash = sorted(k for k, v in self.published.items() if state.get(k) is not v)
            if clash:
                raise LifecycleError(
                    f"the wrapped application's lifespan published the state key(s) {clash}, "
                    f"which asgi-lifecycle hooks publish too; rename one of them"
                )
            self.owner._started = True
            self.owner._settle()
            self.started = True
            await self.send(message)
        elif kind == "lifespan.startup.failed":
            self.inner_failed = str(message.get("message") or "")
            self.started = self.finished = True
            await self.stop_ours()
            await self.send(message)
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            self.finished = True
            report = await self.stop_ours()
            failed = report is not None and not report.ok
            if kind == "lifespan.shutdown.failed" or failed:
                parts = [str(message.get("message") or "")]
                if report is not None and failed:
                    parts.append(str(ShutdownFailed(report)))
                text = "\n".join(part for part in parts if part)
                await self.send({"type": "lifespan.shutdown.failed", "message": text})
            else:
                await self.send(message)
        else:
            await self.send(message)

    async def serve(self) -> None:
        try:
            await self.owner.app(self.scope, self.inner_receive, self.inner_send)
        except BaseException as exc:
            if self.received == 0 and isinstance(exc, Exception):
                # Failing before the first receive() means "no lifespan support" (Django's
                # stock handler raises ValueError): our hooks carry on alone.
                logger.debug("the wrapped app does not support lifespan (%r)", exc)
            else:
                await self._fail(exc)
                raise
        if self.inner_failed is not None:
            # It answered startup.failed but returned quietly (Quart does): raise, so that
            # every server stops, whatever its --lifespan mode.
            raise LifecycleError(f"the wrapped application's startup failed: {self.inner_failed}")
        if not self.started:
            # No lifespan in the wrapped app, or it returned without answering.
            self.owner._started = self.started = True
            self.owner._settle()
            await self.send({"type": "lifespan.startup.complete"})
        if self.finished:
            return
        if self.received < 2:
            message = await self.receive()
            if message["type"] != "lifespan.shutdown":
                raise LifecycleError(f"expected lifespan.shutdown, got {message['type']!r}")
            self.drain()
        try:
            report = await self.stop_ours()
        except BaseException as exc:
            await self._fail(exc)
            raise
        self.finished = True
        if report is None or report.ok:
            await self.send({"type": "lifespan.shutdown.complete"})
        else:
            message_text = str(ShutdownFailed(report))
            await self.send({"type": "lifespan.shutdown.failed", "message": message_text})

    async def _fail(self, exc: BaseException) -> None:
        """Answer the phase in progress with its failed message, once."""
        if self.finished:
            return
        await self.stop_ours()
        kind = "lifespan.shutdown.failed" if self.started else "lifespan.startup.failed"
        self.started = self.finished = True
        await self.send({"type": kind, "message": _failure_text(exc)})
