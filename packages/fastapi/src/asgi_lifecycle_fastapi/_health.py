"""Health probes as a FastAPI router, answered by the core's `HealthEndpoint`."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from asgi_lifecycle import HealthEndpoint, Lifespan
from asgi_lifecycle import lifespan as default_lifespan

__all__ = ("health_router",)


def health_router(
    lifespan: Lifespan = default_lifespan,
    *,
    prefix: str = "/health",
    service_type: str | None = None,
    environment: str | None = None,
    details: bool = False,
    token: str | None = None,
    include_in_schema: bool = False,
) -> APIRouter:
    """Return an `APIRouter` answering health probes: ``app.include_router(health_router())``.

    ``{prefix}`` (and ``{prefix}/``) and ``{prefix}/ready`` answer readiness (200 when the run is
    ready and every critical check passes, else 503), ``{prefix}/live``
    liveness. Bodies are ``application/health+json``; error details only with
    ``details=True`` or for ``Authorization: Bearer <token>``.

    Args:
        lifespan: The `Lifespan` whose run is probed: the one given to
            ``asgi_lifecycle_fastapi.lifespan(lifespan=...)`` (default: the
            process-wide one).
        prefix: Where the probes are (``"/health"``).
        service_type: The run's service type (``None``: the process's latest run).
        environment: The run's environment.
        details: Show error details to everyone (a port no one outside reaches).
        token: Show them to requests bearing this token (default:
            ``$ASGI_LIFECYCLE_HEALTH_TOKEN``).
        include_in_schema: List the probes in the OpenAPI schema.

    Raises:
        TypeError: a bad argument (``prefix`` not a path such as ``"/health"``); the
            message names it.
    """
    endpoint = HealthEndpoint(
        lifespan, service_type=service_type, environment=environment, details=details, token=token
    )
    if not isinstance(prefix, str) or not prefix.startswith("/") or prefix == "/":
        raise TypeError(
            f"health_router(prefix=...) must be a path such as '/health', got {prefix!r}"
        )
    router = APIRouter(prefix=prefix.rstrip("/"), include_in_schema=include_in_schema)

    async def answer(request: Request, probe: str) -> Response:
        response = await endpoint.respond(
            probe, method=request.method, authorization=request.headers.get("authorization")
        )
        return Response(response.body, response.status, headers=dict(response.headers))

    async def ready(request: Request) -> Response:
        """Readiness: the run is ready and every critical check passes."""
        return await answer(request, "ready")

    async def live(request: Request) -> Response:
        """Liveness: the process answers, and its startup did not fail."""
        return await answer(request, "live")

    for path in ("", "/", "/ready"):
        router.add_api_route(path, ready, methods=["GET", "HEAD"], name="health_ready")
    router.add_api_route("/live", live, methods=["GET", "HEAD"], name="health_live")
    return router
