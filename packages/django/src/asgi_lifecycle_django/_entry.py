"""What every entry point (ASGI, WSGI, commands, tests) does before it runs the hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asgi_lifecycle import Lifespan, LifespanContext
from asgi_lifecycle import lifespan as default_lifespan

from ._discovery import raise_discovery_errors
from ._hooks import install
from ._settings import resolve_settings

__all__ = ("prepare",)


def prepare(
    lifespan: Lifespan | None,
    service_type: str | None,
    environment: str | None,
    config: Mapping[str, Any] | None,
) -> tuple[Lifespan, LifespanContext]:
    """Check the hook modules imported, add the adapter's hooks, build the run's context.

    The budgets and ``concurrent`` of ``[tool.asgi-lifecycle]`` and the
    ``ASGI_LIFECYCLE_*`` variables are applied to the registry (unless code set
    them); the context's service type, environment and config come from the
    arguments, then ``settings.ASGI_LIFECYCLE``, then the variables and the file
    (`resolve_settings`).

    Args:
        lifespan: The registry to run, or ``None`` for the process-wide one.
        service_type: Overrides ``ASGI_LIFECYCLE["SERVICE_TYPE"]``.
        environment: Overrides ``ASGI_LIFECYCLE["ENVIRONMENT"]``.
        config: Overrides ``ASGI_LIFECYCLE["CONFIG"]``.

    Returns:
        The registry and the context of the run.

    Raises:
        ImproperlyConfigured: a hook module does not import, or
            ``"asgi_lifecycle_django"`` is not in ``INSTALLED_APPS``.
    """
    raise_discovery_errors()
    registry = default_lifespan if lifespan is None else lifespan
    install(registry)
    settings = resolve_settings(service_type, environment, config)
    registry.configure_from(settings, import_modules=False)
    context = LifespanContext(settings.service_type, settings.environment, settings.config)
    return registry, context
