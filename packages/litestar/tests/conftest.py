"""Fixtures of the Litestar adapter's tests: a private registry, a recorder, an app builder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.datastructures import State

from asgi_lifecycle import Lifespan, LifespanContext
from asgi_lifecycle_litestar import LifecycleContext, LifecyclePlugin

AppFactory = Callable[..., Litestar]


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio, which the core needs."""
    return "asyncio"


@pytest.fixture
def registry() -> Lifespan:
    """A registry of its own, so that no test touches the process-wide one."""
    return Lifespan()


@pytest.fixture
def events() -> list[str]:
    """What hooks and Litestar lifespans did, in order."""
    return []


@pytest.fixture
def hooks(registry: Lifespan, events: list[str]) -> Lifespan:
    """The registry with a resource publishing 'database', a start and a shutdown hook."""

    @registry.resource(name="database", priority=-1)
    async def database() -> Any:
        events.append("database up")
        yield {"dsn": "sqlite://"}
        events.append("database down")

    @registry.on_start(name="start")
    def start(context: LifespanContext) -> None:
        events.append(f"hooks up ({context.service_type})")

    @registry.on_shutdown(name="stop")
    def stop() -> None:
        events.append("hooks down")

    return registry


@get("/state", sync_to_thread=False)
def show_state(state: State, lifecycle_context: LifecycleContext) -> dict[str, Any]:
    """Report what a handler sees: the app state and the injected context."""
    return {
        "state": {key: value for key, value in state.dict().items() if isinstance(key, str)},
        "service_type": lifecycle_context.service_type,
        "environment": lifecycle_context.environment,
        "config": dict(lifecycle_context.config),
        "same_objects": all(state[k] is v for k, v in lifecycle_context.state.items()),
    }


@pytest.fixture
def make_app(registry: Lifespan) -> AppFactory:
    """Build an app serving ``GET /state`` with a `LifecyclePlugin` on ``registry``.

    Keyword arguments go to the plugin, except ``app`` (a dict for ``Litestar``)
    and ``plugins`` (placed around it: ``(before, after)``).
    """

    def build(
        *,
        app: dict[str, Any] | None = None,
        plugins: tuple[list[Any], list[Any]] = ([], []),
        **options: Any,
    ) -> Litestar:
        options.setdefault("service_type", "api")
        plugin = LifecyclePlugin(lifespan=registry, **options)
        settings: dict[str, Any] = {"route_handlers": [show_state], "logging_config": None}
        settings.update(app or {})
        return Litestar(plugins=[*plugins[0], plugin, *plugins[1]], **settings)

    return build
