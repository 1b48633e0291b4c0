"""The health endpoint: one answer for every framework, and an ASGI app serving it.

`HealthEndpoint` turns a probe (``live`` or ``ready``) and the request's
``Authorization`` header into a status, headers and a JSON body; each adapter
only translates that into its framework's response. `HealthApp` serves it over
ASGI, mounted anywhere or in front of an app (``LifespanMiddleware(health_path=...)``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ._health import HealthReport, Probe
from ._lifespan import Lifespan
from ._lifespan import lifespan as default_lifespan

if TYPE_CHECKING:  # the public typing module costs import time that annotations do not need
    from .types import Receive, Scope, Send

__all__ = ("CONTENT_TYPE", "HealthApp", "HealthEndpoint", "HealthResponse")

CONTENT_TYPE = "application/health+json"
"""The media type of the IETF health check response format."""

_PROBES: dict[str, Probe] = {"": "ready", "ready": "ready", "live": "live"}


class HealthResponse:
    """What a health endpoint sends: a status code, headers and a JSON body.

    Attributes:
        status: 200 (pass or warn), 503 (fail), 404 (no such probe), 401 (a
            wrong token), 405 (a method other than GET or HEAD).
        headers: ``(name, value)`` pairs: the content type, and ``no-store``.
        body: The UTF-8 JSON body.
        report: The `HealthReport`, for a probe that was answered.
    """

    __slots__ = ("body", "headers", "report", "status")

    def __init__(
        self,
        status: int,
        body: bytes,
        report: HealthReport | None = None,
        content_type: str = CONTENT_TYPE,
    ) -> None:
        self.status = status
        self.body = body
        self.report = report
        self.headers: list[tuple[str, str]] = [
            ("content-type", content_type),
            ("cache-control", "no-store"),
        ]


class HealthEndpoint:
    """Answers health probes for one run: the policy every adapter shares.

    Public responses carry the status of the process and of each check, never an
    error text: exception messages can name hosts, users or DSNs. Details (each
    failure's exception, what checks returned) are added when ``details=True``,
    or for a request whose ``Authorization: Bearer <token>`` header matches
    ``token``.

    Args:
        lifespan: The `Lifespan` whose run is probed (default: the process-wide one).
        service_type: The run's service type (``None``: the process's latest run).
        environment: The run's environment.
        details: Show details to everyone (for a port no one outside can reach).
        token: Show details to requests bearing this token. Defaults to the
            ``ASGI_LIFECYCLE_HEALTH_TOKEN`` environment variable, if set.
    """

    def __init__(
        self,
        lifespan: Lifespan = default_lifespan,
        *,
        service_type: str | None = None,
        environment: str | None = None,
        details: bool = False,
        token: str | None = None,
    ) -> None:
        if not isinstance(lifespan, Lifespan):
            raise TypeError(f"HealthEndpoint(lifespan=...) needs a Lifespan, got {lifespan!r}")
        if not isinstance(details, bool):
            raise TypeError(f"HealthEndpoint(details=...) must be True or False, got {details!r}")
        if token is None:
            token = os.environ.get("ASGI_LIFECYCLE_HEALTH_TOKEN") or None
        if token is not None and (not isinstance(token, str) or len(token) < 8):
            raise TypeError(
                "HealthEndpoint(token=...) must be a string of at least 8 characters (it guards "
                "error details), or None"
            )
        self.lifespan = lifespan
        self.service_type = service_type
        self.environment = environment
        self.details = details
        self._token = token

    def allows_details(self, authorization: str | None) -> bool:
        """Whether a request with this ``Authorization`` header may see details."""
        if self.details:
            return True
        if self._token is None or not authorization:
            return False
        import hmac  # here: only a request with a token pays for importing it

        scheme, _, credentials = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), self._token.encode()
        )

    async def respond(
        self, probe: str, *, method: str = "GET", authorization: str | None = None
    ) -> HealthResponse:
        """Answer one probe request.

        Args:
            probe: ``"ready"``, ``"live"``, or ``""`` (readiness).
            method: The HTTP method; only GET and HEAD are answered.
            authorization: The request's ``Authorization`` header, if any.
        """
        if method not in ("GET", "HEAD"):
            return _error(405, "method not allowed: use GET")
        kind = _PROBES.get(probe.strip("/"))
        if kind is None:
            return _error(404, f"no such probe {probe!r}: use 'live' or 'ready'")
        if self._token is not None and authorization and not self.allows_details(authorization):
            return _error(401, "wrong token")
        report = await self.lifespan.health(self.service_type, self.environment, probe=kind)
        body = report.to_json(details=self.allows_details(authorization)).encode()
        return HealthResponse(report.http_status, b"" if method == "HEAD" else body, report)


def _error(status: int, message: str) -> HealthResponse:
    import json

    body = json.dumps({"status": "fail", "output": message}).encode()
    return HealthResponse(status, body, None, "application/json")


class HealthApp:
    """An ASGI application that serves `HealthEndpoint`: ``/live`` and ``/ready``.

    Mount it where probes look (``Mount("/health", app=HealthApp())`` in
    Starlette, or ``LifespanMiddleware(app, health_path="/health")``): ``…/ready``
    (and ``…/`` itself) answers readiness, ``…/live`` liveness. The arguments are
    those of `HealthEndpoint`.
    """

    def __init__(
        self,
        lifespan: Lifespan = default_lifespan,
        *,
        service_type: str | None = None,
        environment: str | None = None,
        details: bool = False,
        token: str | None = None,
        prefix: str = "",
    ) -> None:
        self.endpoint = HealthEndpoint(
            lifespan,
            service_type=service_type,
            environment=environment,
            details=details,
            token=token,
        )
        self.prefix = prefix.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ``http`` request; other scopes are not for this app."""
        if scope["type"] != "http":
            if scope["type"] == "lifespan":  # mounted as an app of its own: nothing to start
                message = await receive()
                while message["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                    message = await receive()
                await send({"type": "lifespan.shutdown.complete"})
                return
            raise RuntimeError(f"HealthApp serves http only, not {scope['type']!r}")
        path: str = scope.get("path", "")
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root) :]
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :]
        authorization = None
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization":
                authorization = value.decode("latin-1")
                break
        response = await self.endpoint.respond(
            path, method=scope.get("method", "GET"), authorization=authorization
        )
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.encode(), v.encode()) for k, v in response.headers],
            }
        )
        await send({"type": "http.response.body", "body": response.body})
