"""Health views: the core's `HealthEndpoint`, answered on the run's own event loop.

Under ASGI the run's loop is the server's, where the view already runs. Under
WSGI (`get_wsgi_application`, ``runserver``, gunicorn's sync workers) the run's
resources live on the `BlockingRunner`'s loop, in a thread, and Django runs an
async view on a loop of its own: the probe is then sent to the run's loop, so
that a check may use what a resource made there.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.http import HttpRequest, HttpResponse

from asgi_lifecycle import HealthEndpoint, HealthResponse, Lifespan
from asgi_lifecycle import lifespan as default_lifespan

from ._middleware import CONTEXT_KEY, LIFESPAN_KEY
from ._settings import load_settings

__all__ = ("LOOP_TIMEOUT", "live", "ready")

LOOP_TIMEOUT = 10.0
"""Seconds the run's event loop has to answer a probe sent from another loop."""


def _source(request: HttpRequest) -> Any:
    scope = getattr(request, "scope", None)
    return scope if scope is not None else request.META


async def _on_loop(
    endpoint: HealthEndpoint, probe: str, method: str, authorization: str | None
) -> HealthResponse:
    loop = endpoint.lifespan.loop(endpoint.service_type, endpoint.environment)
    coroutine = endpoint.respond(probe, method=method, authorization=authorization)
    if loop is None or loop.is_closed() or loop is asyncio.get_running_loop():
        return await coroutine
    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), LOOP_TIMEOUT)
    except TimeoutError:
        body = json.dumps(
            {"status": "fail", "output": f"the event loop did not answer within {LOOP_TIMEOUT} s"}
        ).encode()
        return HealthResponse(503, body)


async def _respond(request: HttpRequest, probe: str) -> HttpResponse:
    source = _source(request)
    registry = source.get(LIFESPAN_KEY)
    lifespan: Lifespan = registry if isinstance(registry, Lifespan) else default_lifespan
    context = source.get(CONTEXT_KEY)
    current = load_settings()
    endpoint = HealthEndpoint(
        lifespan,
        service_type=context.service_type if context is not None else None,
        environment=context.environment if context is not None else None,
        details=current.health_details,
        token=current.health_token,
    )
    answer = await _on_loop(
        endpoint, probe, request.method or "GET", request.headers.get("Authorization")
    )
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response


async def ready(request: HttpRequest) -> HttpResponse:
    """Answer the readiness probe: 200 when the run is ready and its critical checks pass."""
    return await _respond(request, "ready")


async def live(request: HttpRequest) -> HttpResponse:
    """Answer the liveness probe: 200 unless the startup failed (or the loop does not answer)."""
    return await _respond(request, "live")
