"""The lifespan that runs asgi-lifecycle hooks around a Starlette or FastAPI application."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, TypeAlias

from asgi_lifecycle import (
    LifecycleError,
    Lifespan,
    LifespanContext,
    ShutdownFailed,
)
from asgi_lifecycle import lifespan as default_lifespan
from asgi_lifecycle.types import SyncRunner

from ._context import APP_ATTRIBUTE, CONTEXT_KEY

__all__ = ("AppLifespan", "LifecycleLifespan", "install", "lifespan")

logger = logging.getLogger("asgi_lifecycle.fastapi")

AppLifespan: TypeAlias = Callable[
    [Any], AbstractAsyncContextManager[Any] | AsyncIterator[Any] | Iterator[Any]
]
"""An application's own lifespan, in any shape FastAPI accepts."""

# Starlette raises this (RuntimeError) when it gets state from a lifespan but the server
# gave none; matched only to explain the failure better, never to change what happens.
_NO_STATE = 'does not support "state"'


def _name(obj: object) -> str:
    return getattr(obj, "__qualname__", None) or repr(obj)


@contextlib.asynccontextmanager
async def _lift(manager: AbstractContextManager[Any]) -> AsyncIterator[Any]:
    # Entered and left on the event loop, as FastAPI and Starlette do with generator lifespans.
    with manager as value:
        yield value


def _enter(wrapped: AppLifespan, app: object) -> AbstractAsyncContextManager[Any]:
    func: Any = wrapped
    if inspect.isasyncgenfunction(func):
        manager: AbstractAsyncContextManager[Any] = contextlib.asynccontextmanager(func)(app)
        return manager
    if inspect.isgeneratorfunction(func):
        return _lift(contextlib.contextmanager(func)(app))
    result = func(app)
    if hasattr(result, "__aenter__") and hasattr(result, "__aexit__"):
        return result  # type: ignore[no-any-return]
    raise TypeError(
        f"asgi_lifecycle_fastapi.lifespan(wraps={_name(wrapped)}): calling it with the app "
        f"returned {result!r}, not an async context manager; pass an @asynccontextmanager "
        f"function, an async generator function or a generator function taking the app"
    )


class LifecycleLifespan:
    """A lifespan for ``FastAPI(lifespan=...)`` or ``Starlette(lifespan=...)``; see `lifespan`.

    Calling it with the app returns the async context manager Starlette enters at
    startup and leaves at shutdown; what it yields becomes the lifespan state.
    """

    def __init__(
        self,
        *,
        lifespan: Lifespan,
        service_type: str | None,
        environment: str | None,
        config: Mapping[str, Any] | None,
        wraps: AppLifespan | None,
        sync_runner: SyncRunner | None,
        keeps_event_handlers: bool = False,
    ) -> None:
        if not isinstance(lifespan, Lifespan):
            raise TypeError(
                f"asgi_lifecycle_fastapi.lifespan(lifespan=...) needs an asgi_lifecycle.Lifespan, "
                f"got {lifespan!r}"
            )
        if wraps is not None and not callable(wraps):
            raise TypeError(
                f"asgi_lifecycle_fastapi.lifespan(wraps=...) takes the application's own lifespan "
                f"(an @asynccontextmanager function, an async generator function or a generator "
                f"function taking the app), got {wraps!r}"
            )
        if sync_runner is not None and not callable(sync_runner):
            raise TypeError(
                f"asgi_lifecycle_fastapi.lifespan(sync_runner=...) must be callable, got "
                f"{sync_runner!r}"
            )
        LifespanContext(service_type, environment, config)  # validates the arguments now
        self.lifespan = lifespan
        self.service_type = service_type
        self.environment = environment
        self.config = config
        self.wraps = wraps
        self.sync_runner = sync_runner
        # install() wraps the app's lifespan as it stands, so FastAPI's on_startup and
        # @on_event handlers run exactly as they did before; lifespan= replaces them.
        self._keeps_event_handlers = keeps_event_handlers

    def __repr__(self) -> str:
        wraps = "" if self.wraps is None else f", wraps={_name(self.wraps)}"
        return f"<asgi_lifecycle_fastapi.lifespan service_type={self.service_type!r}{wraps}>"

    def __call__(self, app: object) -> AbstractAsyncContextManager[Mapping[str, Any]]:
        # Typed as FastAPI's stateful lifespan so that FastAPI(lifespan=...) type-checks; it
        # yields None when nothing is published, which Starlette accepts too.
        return self._run(app)

    @contextlib.asynccontextmanager
    async def _run(self, app: object) -> AsyncIterator[Any]:
        if not self._keeps_event_handlers:
            self._warn_ignored_handlers(app)
        context = LifespanContext(self.service_type, self.environment, self.config)
        await self.lifespan.startup(context, sync_runner=self.sync_runner)
        try:
            async with contextlib.AsyncExitStack() as stack:
                state: dict[str, Any] = dict(context.state)
                if self.wraps is not None:
                    theirs = await stack.enter_async_context(_enter(self.wraps, app))
                    self._merge(state, theirs)
                app_state = getattr(app, "state", None)
                if app_state is not None:
                    setattr(app_state, APP_ATTRIBUTE, context)
                # Yield state only when there is some: a server without lifespan state
                # then still runs hooks that publish nothing (Starlette refuses any state).
                try:
                    yield {**state, CONTEXT_KEY: context} if state else None
                except RuntimeError as exc:
                    if _NO_STATE in str(exc):
                        raise LifecycleError(
                            f"the server sent no 'state' in the lifespan scope, so the state "
                            f"({', '.join(sorted(state))}) cannot reach requests; run under a "
                            f"server that supports lifespan state (uvicorn, hypercorn, granian)"
                        ) from exc
                    raise
        except BaseException:
            await self.lifespan.shutdown(context)
            raise
        report = await self.lifespan.shutdown(context)
        if not report.ok:
            # Starlette answers lifespan.shutdown.failed with this, as LifespanMiddleware does.
            raise ShutdownFailed(report)

    def _merge(self, state: dict[str, Any], theirs: object) -> None:
        if theirs is None:
            return
        if not isinstance(theirs, Mapping):
            raise TypeError(
                f"the application's lifespan {_name(self.wraps)} yielded {theirs!r}; a lifespan "
                f"yields None or a mapping of state"
            )
        clash = sorted(str(key) for key in theirs if key in state)
        if clash:
            raise LifecycleError(
                f"the state key(s) {', '.join(map(repr, clash))} are published both by "
                f"asgi-lifecycle hooks and by the application's lifespan {_name(self.wraps)}; "
                f"rename one of them"
            )
        state.update(theirs)

    def _warn_ignored_handlers(self, app: object) -> None:
        router = getattr(app, "router", None)
        handlers = [*getattr(router, "on_startup", ()), *getattr(router, "on_shutdown", ())]
        if handlers:
            logger.warning(
                "asgi-lifecycle: FastAPI does not run on_startup/on_shutdown handlers or "
                "@app.on_event functions once lifespan= is passed, so %s will NOT run. Move "
                "them onto hooks (@lifespan.on_start / @lifespan.on_shutdown), or call "
                "asgi_lifecycle_fastapi.install(app) instead of passing lifespan=, which keeps "
                "them running.",
                ", ".join(_name(handler) for handler in handlers),
            )


def lifespan(
    *,
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
    lifespan: Lifespan = default_lifespan,
    wraps: AppLifespan | None = None,
    sync_runner: SyncRunner | None = None,
) -> LifecycleLifespan:
    """Return a lifespan that runs the hooks, for ``FastAPI(lifespan=...)`` or Starlette's.

    At startup the hooks start first, then the application's own lifespan
    (``wraps``); at shutdown that lifespan stops first, then the hooks. The state
    the hooks publish and the state ``wraps`` yields both reach
    ``request.state``, and so does the run's context (`get_context`,
    `LifecycleContext`). A critical hook's failure fails the startup the way
    Starlette does: ``lifespan.startup.failed`` with the traceback, then the
    error, so that every server refuses to start.

    Args:
        service_type: The service type of this process's run (default: the configured
            ``service_type`` of ``[tool.asgi-lifecycle]`` or ``$ASGI_LIFECYCLE_SERVICE_TYPE``,
            else ``"app"``).
        environment: The environment (default: ``$ASGI_LIFECYCLE_ENV``, then the
            configured one, else ``"development"``).
        config: The config mapping the hooks read with ``get_config`` (default: the
            configured ``config``, with the service type's table applied).
        lifespan: The hook registry to run (default: the process-wide one).
        wraps: The application's own lifespan, in any shape FastAPI accepts: an
            ``@asynccontextmanager`` function, an async generator function or a
            generator function, taking the app.
        sync_runner: How sync hooks are run (see `asgi_lifecycle.Lifespan.startup`).

    Returns:
        A lifespan to pass as ``FastAPI(lifespan=...)``, ``Starlette(lifespan=...)``
        or ``APIRouter(lifespan=...)``.

    Raises:
        TypeError: an argument is wrong (raised here, not at startup).
    """
    return LifecycleLifespan(
        lifespan=lifespan,
        service_type=service_type,
        environment=environment,
        config=config,
        wraps=wraps,
        sync_runner=sync_runner,
    )


def install(
    app: object,
    *,
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
    lifespan: Lifespan = default_lifespan,
    sync_runner: SyncRunner | None = None,
) -> None:
    """Run the hooks around an existing app's lifespan, whatever it is, without replacing it.

    The same as ``lifespan(wraps=<the app's lifespan>)``, for an app already built:
    its ``lifespan=``, FastAPI's ``on_startup``/``on_shutdown`` handlers and
    ``@app.on_event`` functions all keep running, inside the hooks. Routers
    included later keep their lifespans too. Installing twice the same way does
    nothing (and logs so).

    Args:
        app: A FastAPI or Starlette application, or a router.
        service_type: The service type of this process's run (default: the configured
            ``service_type`` of ``[tool.asgi-lifecycle]`` or ``$ASGI_LIFECYCLE_SERVICE_TYPE``,
            else ``"app"``).
        environment: The environment (default: ``$ASGI_LIFECYCLE_ENV``, then the
            configured one, else ``"development"``).
        config: The config mapping the hooks read with ``get_config`` (default: the
            configured ``config``, with the service type's table applied).
        lifespan: The hook registry to run (default: the process-wide one).
        sync_runner: How sync hooks are run (see `asgi_lifecycle.Lifespan.startup`).

    Raises:
        TypeError: ``app`` is not a Starlette or FastAPI app or router, or an
            argument is wrong.
        LifecycleError: the app already runs asgi-lifecycle hooks with other settings.
    """
    router = getattr(app, "router", app)
    current = getattr(router, "lifespan_context", None)
    if current is None:
        raise TypeError(
            f"asgi_lifecycle_fastapi.install(app) needs a FastAPI or Starlette application or "
            f"router, got {app!r}"
        )
    ours = LifecycleLifespan(
        lifespan=lifespan,
        service_type=service_type,
        environment=environment,
        config=config,
        wraps=current,
        sync_runner=sync_runner,
        keeps_event_handlers=True,
    )
    if isinstance(current, LifecycleLifespan):
        settings = ("lifespan", "service_type", "environment", "config", "sync_runner")
        if all(getattr(current, name) == getattr(ours, name) for name in settings):
            logger.info("asgi-lifecycle is already installed on %r; nothing to do", app)
            return
        raise LifecycleError(
            f"asgi_lifecycle_fastapi.install(): {app!r} already runs {current!r} with other "
            f"settings; install once per application"
        )
    setattr(router, "lifespan_context", ours)  # noqa: B010 - router is any Starlette router
