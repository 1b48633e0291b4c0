"""The run's context, handed to request handlers through the lifespan state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from asgi_lifecycle import LifecycleError, LifespanContext

__all__ = ("CONTEXT_KEY", "LifecycleContext", "context_from_state", "get_context")

# A dotted key cannot clash with an attribute name used as request.state.<name>.
CONTEXT_KEY = "asgi_lifecycle.context"
# The same context on app.state: found even under a server that gives no lifespan state.
APP_ATTRIBUTE = "asgi_lifecycle_context"


def context_from_state(state: Mapping[str, Any] | None, app: object = None) -> LifespanContext:
    """Return the run's context from a lifespan state (or the app's ``state``), or say why not.

    Args:
        state: A lifespan state, or the per-request copy of it.
        app: The application, whose ``app.state`` holds the context too.
    """
    context = state.get(CONTEXT_KEY) if state else None
    if context is None and app is not None:
        context = getattr(getattr(app, "state", None), APP_ATTRIBUTE, None)
    if not isinstance(context, LifespanContext):
        raise LifecycleError(
            "no asgi-lifecycle context in the lifespan state: the application's lifespan is not "
            "asgi_lifecycle_fastapi.lifespan(...) (pass it as FastAPI(lifespan=...) or "
            "Starlette(lifespan=...), or call asgi_lifecycle_fastapi.install(app)), or it has not "
            "run: the server sends no lifespan ('uvicorn --lifespan off', httpx's ASGITransport), "
            "or a TestClient is used outside 'with' (use asgi_lifecycle_fastapi.LifespanClient)"
        )
    return context


def get_context(connection: HTTPConnection) -> LifespanContext:
    """Return the `LifespanContext` of the run serving a request or websocket.

    Works in any Starlette handler (``get_context(request)``); FastAPI handlers
    declare a parameter of type `LifecycleContext` instead. ``context.state`` is
    the run's own dictionary, while ``request.state`` is the per-request copy
    the server makes of it.

    Raises:
        LifecycleError: the app's lifespan is not this adapter's, or it has not run.
    """
    return context_from_state(connection.scope.get("state"), connection.scope.get("app"))


LifecycleContext = Annotated[LifespanContext, Depends(get_context)]
"""A FastAPI dependency: ``async def handler(context: LifecycleContext)`` gets the run's context."""
