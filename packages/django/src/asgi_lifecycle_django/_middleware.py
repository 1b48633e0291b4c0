"""Django middleware: the lifespan state on ``request.state``, the context on ``.lifecycle``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

__all__ = ("CONTEXT_KEY", "LIFESPAN_KEY", "STATE_KEY", "LifecycleMiddleware")

# Where the WSGI handler and the test clients put them (ASGI: scope["state"] and this key).
CONTEXT_KEY = "asgi_lifecycle.context"
STATE_KEY = "asgi_lifecycle.state"
# The handler's Lifespan (ASGI: in the scope; WSGI: in environ), for the health views.
LIFESPAN_KEY = "asgi_lifecycle.lifespan"


def _annotate(request: HttpRequest) -> None:
    scope = getattr(request, "scope", None)
    source: Any = scope if scope is not None else request.META
    state = source.get("state") if scope is not None else source.get(STATE_KEY)
    request.state = state if state is not None else {}  # type: ignore[attr-defined]
    request.lifecycle = source.get(CONTEXT_KEY)  # type: ignore[attr-defined]


class LifecycleMiddleware:
    """Sets ``request.state`` (the lifespan state) and ``request.lifecycle`` (the context).

    Under ASGI, ``request.state`` is the server's per-request copy of the lifespan
    state (``scope["state"]``): rebinding a key there does not outlive the request;
    mutating a shared object does. Under `get_wsgi_application` it is a per-request
    copy of the run's state, the same way. ``request.lifecycle`` is the run's
    `LifespanContext`, or ``None`` when no startup ran in this process.

    Add ``"asgi_lifecycle_django.LifecycleMiddleware"`` to ``MIDDLEWARE``; it works
    for sync and async views.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]
    ) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        """Annotate the request, then pass it on."""
        if self._async:
            return self.__acall__(request)
        _annotate(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """Annotate the request, then pass it on (async path)."""
        _annotate(request)
        response = self.get_response(request)
        assert not isinstance(response, HttpResponseBase)
        return await response
