"""Running the hooks around a management command, or any synchronous code."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from django.core.management.base import BaseCommand

from asgi_lifecycle import BlockingRunner, Lifespan, LifespanContext

from ._entry import prepare
from ._hooks import sync_runner

__all__ = ("LifecycleCommandMixin", "run_lifecycle")


@contextmanager
def run_lifecycle(
    *,
    lifespan: Lifespan | None = None,
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> Iterator[BlockingRunner]:
    """Run the startup hooks, yield, then run the shutdown hooks.

    For management commands, scripts and other synchronous code. Async hooks and
    resources live on one event loop of their own for the whole block; run
    coroutines on it with ``runner.call(coro)``. The arguments override
    ``settings.ASGI_LIFECYCLE``.

    Yields:
        The `BlockingRunner`; ``runner.context.state`` holds the published resources.

    Raises:
        StartupFailed: a critical hook failed (everything was rolled back).
        ImproperlyConfigured: a hook module does not import, or
            ``"asgi_lifecycle_django"`` is not in ``INSTALLED_APPS``.
    """
    registry, context = prepare(lifespan, service_type, environment, config)
    with registry.run_blocking(context, sync_runner=sync_runner) as runner:
        yield runner


class LifecycleCommandMixin(BaseCommand):
    """Makes a management command run the hooks around its execution.

    ``class Command(LifecycleCommandMixin, BaseCommand):`` -- then ``self.lifecycle``
    is the run's context and ``self.lifecycle_runner`` its `BlockingRunner` inside
    ``handle``. Set ``lifecycle_service_type`` (for example ``"worker"``) and
    ``lifecycle_environment`` to override the settings.
    """

    lifecycle_service_type: ClassVar[str | None] = None
    lifecycle_environment: ClassVar[str | None] = None
    lifecycle: LifespanContext | None = None
    lifecycle_runner: BlockingRunner | None = None

    def execute(self, *args: Any, **options: Any) -> str | None:
        """Run the startup hooks, execute the command, then run the shutdown hooks."""
        with run_lifecycle(
            service_type=self.lifecycle_service_type, environment=self.lifecycle_environment
        ) as runner:
            self.lifecycle_runner = runner
            self.lifecycle = runner.context
            try:
                return super().execute(*args, **options)
            finally:
                self.lifecycle_runner = None
