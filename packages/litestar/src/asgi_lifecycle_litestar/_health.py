"""Health probes as Litestar route handlers, answered by the core's `HealthEndpoint`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get

from asgi_lifecycle import HealthEndpoint

__all__ = ("health_router",)


def health_router(endpoint: HealthEndpoint, path: str) -> Router:
    """Return a `Router` at ``path``: ``path`` and ``path/ready`` readiness, ``path/live`` liveness.

    Args:
        endpoint: The policy that answers (which run, who sees details).
        path: Where the probes are (``"/health"``).
    """

    async def answer(request: Request[Any, Any, Any], probe: str) -> Response[bytes]:
        response = await endpoint.respond(
            probe, method=request.method, authorization=request.headers.get("authorization")
        )
        headers = dict(response.headers)
        return Response(
            response.body,
            status_code=response.status,
            media_type=headers.pop("content-type"),
            headers=headers,
        )

    @get(["/", "/ready"], include_in_schema=False, name="asgi_lifecycle_health_ready")
    async def ready(request: Request[Any, Any, Any]) -> Response[bytes]:
        """Readiness: the run is ready and every critical check passes."""
        return await answer(request, "ready")

    @get("/live", include_in_schema=False, name="asgi_lifecycle_health_live")
    async def live(request: Request[Any, Any, Any]) -> Response[bytes]:
        """Liveness: the process answers, and its startup did not fail."""
        return await answer(request, "live")

    return Router(path=path, route_handlers=[ready, live])
