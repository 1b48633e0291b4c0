"""Django's ASGI handler, with the ASGI lifespan protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django
from django.core.handlers.asgi import ASGIHandler

from asgi_lifecycle import Lifespan, LifespanContext, LifespanMiddleware
from asgi_lifecycle.types import Receive, Scope, Send

from ._entry import prepare
from ._hooks import sync_runner
from ._middleware import CONTEXT_KEY, LIFESPAN_KEY

__all__ = ("LifecycleASGIHandler", "get_asgi_application")


class LifecycleASGIHandler(ASGIHandler):
    """Django's `ASGIHandler` that also serves the ASGI ``lifespan`` scope.

    The ``lifespan`` scope runs the hooks (through the core's `LifespanMiddleware`,
    which does the protocol: one ``complete`` or ``failed`` per phase, failures
    re-raised, state published to the server); ``http`` scopes go to Django as
    usual, with the run's context under ``scope["asgi_lifecycle.context"]``.

    Args:
        lifespan: The hook registry to run (default: the process-wide one).
        service_type: Overrides ``ASGI_LIFECYCLE["SERVICE_TYPE"]``.
        environment: Overrides ``ASGI_LIFECYCLE["ENVIRONMENT"]``.
        config: Overrides ``ASGI_LIFECYCLE["CONFIG"]``.

    Raises:
        ImproperlyConfigured: a hook module does not import, or
            ``"asgi_lifecycle_django"`` is not in ``INSTALLED_APPS``.
    """

    def __init__(
        self,
        *,
        lifespan: Lifespan | None = None,
        service_type: str | None = None,
        environment: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.lifespan, settings_context = prepare(lifespan, service_type, environment, config)
        super().__init__()
        self._protocol = LifespanMiddleware(
            self._django,
            lifespan=self.lifespan,
            service_type=settings_context.service_type,
            environment=settings_context.environment,
            config=settings_context.config,
            sync_runner=sync_runner,
            hint=(
                "For runserver, gunicorn's sync workers and other WSGI servers, point "
                "WSGI_APPLICATION at asgi_lifecycle_django.get_wsgi_application(); in tests, "
                "use asgi_lifecycle_django.testing.lifecycle_client()."
            ),
        )

    @property
    def context(self) -> LifespanContext | None:
        """The run's `LifespanContext` from a successful startup until shutdown, else None."""
        return self._protocol.context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        """Serve one ASGI connection: ``lifespan`` runs the hooks, ``http`` goes to Django."""
        if scope["type"] != "lifespan":
            await self._protocol(scope, receive, send)
            return
        # No ThreadSensitiveContext here: sync hooks then share asgiref's process-wide
        # thread-sensitive thread (one thread, one database connection, from startup to
        # shutdown), and a hook that timed out and still runs in it cannot keep the lifespan
        # from ending (a context joins its thread on exit).
        await self._protocol(scope, receive, send)

    async def _django(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # Django has no lifespan of its own: returning before receive() says so.
            return
        scope[LIFESPAN_KEY] = self.lifespan
        if self.context is not None:
            scope[CONTEXT_KEY] = self.context
        # Django's stubs say dict where ASGI (and the core's types) say MutableMapping.
        await super().__call__(scope, receive, send)  # type: ignore[arg-type]


def get_asgi_application(
    *,
    lifespan: Lifespan | None = None,
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> LifecycleASGIHandler:
    """Set Django up and return its ASGI application, speaking the lifespan protocol.

    Use it in ``asgi.py`` instead of `django.core.asgi.get_asgi_application`. The
    arguments override ``settings.ASGI_LIFECYCLE``; see `LifecycleASGIHandler`.

    Raises:
        ImproperlyConfigured: a hook module does not import, or
            ``"asgi_lifecycle_django"`` is not in ``INSTALLED_APPS``.
    """
    django.setup(set_prefix=False)
    return LifecycleASGIHandler(
        lifespan=lifespan, service_type=service_type, environment=environment, config=config
    )
