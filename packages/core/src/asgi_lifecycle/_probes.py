"""Health probes on a port of their own, answered from a thread: `HealthServer`.

An application's own endpoint cannot answer before its server listens, and
ASGI and WSGI servers listen only once the startup finished; a worker listens
nowhere. This server answers from the moment it starts: ``starting`` (503)
during a slow startup, then readiness and liveness as `HealthEndpoint` does.
Readiness checks run on the run's own event loop (they use its resources);
liveness also asks that loop to answer, so a blocked loop fails liveness.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._endpoint import HealthEndpoint, HealthResponse
from ._lifespan import Lifespan
from ._lifespan import lifespan as default_lifespan
from ._signals import leave_stop_signals_to_the_main_thread

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

__all__ = ("HealthServer",)

logger = logging.getLogger("asgi_lifecycle")


class HealthServer:
    """Serves ``/live`` and ``/ready`` (and ``/``: readiness) on a port, from a daemon thread.

    ``GET /ready`` answers 503 while the run starts, 200 once it is ready and its
    critical checks pass, 503 again from the moment it drains; ``GET /live``
    answers 200 unless the startup failed or the run's event loop does not
    answer within ``loop_timeout``. Bodies are those of `HealthEndpoint`.

    Args:
        lifespan: The `Lifespan` whose run is probed.
        port: The TCP port (0: a free one, see `port`).
        host: The address to listen on. Kubernetes probes reach a pod from its
            node, so the default listens on every interface; responses carry no
            error details unless allowed.
        service_type: The run's service type (``None``: the process's latest run).
        environment: The run's environment.
        details: Show error details to everyone.
        token: Show them to requests bearing this token (see `HealthEndpoint`).
        loop_timeout: Seconds the run's loop has to answer a liveness probe, and
            its checks (beyond their own timeouts) a readiness probe.

    Attributes:
        port: The port it listens on, once started.
    """

    def __init__(
        self,
        lifespan: Lifespan = default_lifespan,
        *,
        port: int,
        host: str = "0.0.0.0",
        service_type: str | None = None,
        environment: str | None = None,
        details: bool = False,
        token: str | None = None,
        loop_timeout: float = 5.0,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise TypeError(f"HealthServer(port=...) must be a TCP port number, got {port!r}")
        self.endpoint = HealthEndpoint(
            lifespan,
            service_type=service_type,
            environment=environment,
            details=details,
            token=token,
        )
        self.host = host
        self.port = port
        self.loop_timeout = loop_timeout
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> HealthServer:
        """Bind the port and answer probes from a daemon thread; return the server itself.

        Raises:
            OSError: the port cannot be bound (in use, or not allowed).
        """
        if self._server is not None:
            return self
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._serve(self, "GET")

            def do_HEAD(self) -> None:
                owner._serve(self, "HEAD")

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("health probe: " + format, *args)

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]

        def serve() -> None:
            leave_stop_signals_to_the_main_thread()  # and so do its per-request threads
            server.serve_forever()

        self._thread = threading.Thread(target=serve, name="asgi-lifecycle-probes", daemon=True)
        self._thread.start()
        logger.info("health probes answer on http://%s:%d/ready and /live", self.host, self.port)
        return self

    def install(
        self,
        *,
        service_types: str | list[str] | None = None,
        environments: str | list[str] | None = None,
    ) -> HealthServer:
        """Start answering with the startup and stop after the shutdown: a hook of the lifespan.

        Registers a resource at the lowest priority, so that the port opens before
        any other hook starts (probes see ``starting``) and closes after every
        other hook stopped; it opens in the process that runs the startup, after
        any fork. Put it in the hook module; return the server itself.

        Args:
            service_types: The service types whose processes answer probes
                (``None``: all), as for hooks.
            environments: The environments that do.
        """
        server = self

        async def health_server() -> AsyncIterator[None]:
            server.start()
            try:
                yield
            finally:
                server.stop()

        self.endpoint.lifespan.add_resource(
            health_server,
            name=f"asgi_lifecycle.health_server:{self.port}",
            priority=-sys.maxsize - 1,
            service_types=service_types,
            environments=environments,
        )
        return self

    def stop(self) -> None:
        """Stop answering and close the port."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _serve(self, request: Any, method: str) -> None:
        path = request.path.split("?", 1)[0].strip("/")
        response = self._answer(path, method, request.headers.get("Authorization"))
        request.send_response(response.status)
        for name, value in response.headers:
            request.send_header(name, value)
        request.send_header("content-length", str(len(response.body)))
        request.end_headers()
        request.wfile.write(response.body)

    def _answer(self, path: str, method: str, authorization: str | None) -> HealthResponse:
        endpoint = self.endpoint
        lifespan = endpoint.lifespan
        loop = lifespan.loop(endpoint.service_type, endpoint.environment)
        coroutine = endpoint.respond(path, method=method, authorization=authorization)
        if loop is None or loop.is_closed():
            return asyncio.run(coroutine)  # not running: nothing of the run's loop is needed
        if path == "live":
            try:
                asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(self.loop_timeout)
            except Exception:
                coroutine.close()
                return _not_answering(self.loop_timeout)
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result(self.loop_timeout + 2.0)
        except Exception:
            future.cancel()
            return _not_answering(self.loop_timeout)

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _not_answering(timeout: float) -> HealthResponse:
    import json

    body = json.dumps(
        {"status": "fail", "output": f"the event loop did not answer within {timeout:g} s"}
    ).encode()
    return HealthResponse(503, body)
