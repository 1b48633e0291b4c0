"""The Litestar init plugin that runs asgi-lifecycle hooks in the app's lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from litestar.constants import RESERVED_KWARGS
from litestar.di import Provide
from litestar.exceptions import ImproperlyConfiguredException
from litestar.plugins import InitPluginProtocol

from asgi_lifecycle import (
    HealthEndpoint,
    LifecycleError,
    LifecycleReport,
    Lifespan,
    LifespanContext,
    ShutdownFailed,
)
from asgi_lifecycle import lifespan as default_lifespan
from asgi_lifecycle.types import SyncRunner

from ._health import health_router

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.app import AppConfig

__all__ = ("LifecycleContext", "LifecyclePlugin", "get_context")

DEFAULT_DEPENDENCY_KEY = "lifecycle_context"


def _injected_context() -> Any:
    try:
        from litestar.di import NamedDependency  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # Litestar < 2.23 injects any parameter named like a dependency
        return LifespanContext
    return NamedDependency[LifespanContext]


if TYPE_CHECKING:
    LifecycleContext: TypeAlias = LifespanContext
else:
    LifecycleContext = _injected_context()
"""Annotate the injected context with this: ``lifecycle_context: LifecycleContext``.

It is `asgi_lifecycle.LifespanContext` to a type checker, and Litestar's
``NamedDependency[LifespanContext]`` where Litestar has it (2.24 and newer warn
about a dependency parameter that is not marked so).
"""

# The bindings whose lifespan is running, by id() of their app: Litestar apps cannot be
# weakly referenced, and an entry lives only from startup to shutdown, so nothing leaks.
_running: dict[int, list[_Binding]] = {}


class LifecyclePlugin(InitPluginProtocol):
    """Runs asgi-lifecycle hooks in a Litestar app's lifespan.

    ``Litestar(plugins=[LifecyclePlugin(service_type="api")])``. At app creation it
    appends one lifespan context manager to the app's ``lifespan`` list, after the
    lifespans the app and the plugins listed before it already have (none is ever
    replaced). That context manager runs the startup hooks, publishes
    ``context.state`` on ``app.state`` (what a handler's ``state: State`` parameter
    and ``request.app.state`` hold), and at shutdown runs the shutdown hooks.
    Litestar's ``on_shutdown`` list is never used: Litestar runs it even after a
    failed startup, while a failed startup here is already rolled back by the core.

    A critical hook that fails makes the lifespan raise `asgi_lifecycle.StartupFailed`
    (after the rollback), so Litestar answers ``lifespan.startup.failed`` and the
    server refuses to start; the hook's name and error are logged on the
    ``asgi_lifecycle`` logger. At shutdown every hook runs even when some fail;
    failures are then raised as one `asgi_lifecycle.LifecycleError`, which Litestar
    answers with ``lifespan.shutdown.failed``.

    The context is also a dependency: a handler parameter named ``lifecycle_context``
    (see ``dependency_key``) and annotated with `LifecycleContext` receives it.

    One plugin object may serve several apps (an app factory in tests): each app
    gets its own lifespan manager.

    Args:
        service_type: The service type of this process's run (default: the configured
            ``service_type`` of ``[tool.asgi-lifecycle]`` or ``$ASGI_LIFECYCLE_SERVICE_TYPE``,
            else ``"app"``).
        environment: The environment (default: ``$ASGI_LIFECYCLE_ENV``, then the
            configured one, else ``"development"``).
        config: The mapping hooks read with ``context.get_config`` (default: the
            configured ``config``, with the service type's table applied).
        lifespan: The hook registry to run (default: the process-wide
            ``asgi_lifecycle.lifespan``).
        concurrent: Override the registry's ``concurrent`` setting for this run.
        sync_runner: How sync hooks are run (default: a thread each, as in the core).
        dependency_key: The name under which the context is injected, or ``None``
            to add no dependency.
        health_path: Answer health probes under this path (``"/health"``:
            ``/health`` and ``/health/ready`` readiness, ``/health/live``
            liveness), or ``None`` for none.
        health_details: Show error details in health responses to everyone.
        health_token: Show them to requests with ``Authorization: Bearer <token>``
            (default: ``$ASGI_LIFECYCLE_HEALTH_TOKEN``).

    Raises:
        TypeError: a setting has the wrong type; the message names it.
        ImproperlyConfiguredException: ``dependency_key`` is not a usable parameter
            name, or (at app creation) the app already has a dependency of that name.
    """

    __slots__ = (
        "concurrent",
        "config",
        "dependency_key",
        "environment",
        "health",
        "health_path",
        "lifespan",
        "service_type",
        "sync_runner",
    )

    def __init__(
        self,
        *,
        service_type: str | None = None,
        environment: str | None = None,
        config: Mapping[str, Any] | None = None,
        lifespan: Lifespan = default_lifespan,
        concurrent: bool | None = None,
        sync_runner: SyncRunner | None = None,
        dependency_key: str | None = DEFAULT_DEPENDENCY_KEY,
        health_path: str | None = None,
        health_details: bool = False,
        health_token: str | None = None,
    ) -> None:
        LifespanContext(service_type, environment, config)  # validates the three now
        if not isinstance(lifespan, Lifespan):
            raise TypeError(
                f"LifecyclePlugin(lifespan=...) needs an asgi_lifecycle.Lifespan (such as "
                f"asgi_lifecycle.lifespan), got {lifespan!r}"
            )
        if concurrent is not None and not isinstance(concurrent, bool):
            raise TypeError(
                f"LifecyclePlugin(concurrent=...) must be True, False or None (the "
                f"Lifespan's own setting), got {concurrent!r}"
            )
        if sync_runner is not None and not callable(sync_runner):
            raise TypeError(
                f"LifecyclePlugin(sync_runner=...) must be a callable taking a function and "
                f"returning an awaitable, or None, got {sync_runner!r}"
            )
        if dependency_key is not None:
            if not isinstance(dependency_key, str) or not dependency_key.isidentifier():
                raise ImproperlyConfiguredException(
                    f"LifecyclePlugin(dependency_key=...) must be a Python identifier (the "
                    f"handler parameter name), or None for no dependency; got {dependency_key!r}"
                )
            if dependency_key in RESERVED_KWARGS:
                raise ImproperlyConfiguredException(
                    f"LifecyclePlugin(dependency_key={dependency_key!r}): Litestar reserves "
                    f"that parameter name; use another, such as {DEFAULT_DEPENDENCY_KEY!r}"
                )
        self.service_type = None if service_type is None else str(service_type)
        self.environment = environment
        self.config = config
        self.lifespan = lifespan
        self.concurrent = concurrent
        self.sync_runner = sync_runner
        self.dependency_key = dependency_key
        self.health_path = health_path
        self.health: HealthEndpoint | None = None
        if health_path is not None:
            if not isinstance(health_path, str) or not health_path.startswith("/"):
                raise TypeError(
                    f"LifecyclePlugin(health_path=...) must be a path such as '/health', or "
                    f"None for no health endpoint; got {health_path!r}"
                )
            self.health = HealthEndpoint(
                lifespan,
                service_type=self.service_type,
                environment=environment,
                details=health_details,
                token=health_token,
            )

    def __repr__(self) -> str:
        return (
            f"LifecyclePlugin(service_type={self.service_type!r}, "
            f"environment={self.environment!r}, dependency_key={self.dependency_key!r})"
        )

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add this plugin's lifespan manager, dependency and health probes to an app being created.

        Args:
            app_config: The configuration of the app being created.

        Returns:
            The same configuration, with the lifespan manager appended to its list.

        Raises:
            ImproperlyConfiguredException: the app already has a dependency named
                ``dependency_key``.
        """
        binding = _Binding(self)
        key = self.dependency_key
        if key is not None:
            if key in app_config.dependencies:
                raise ImproperlyConfiguredException(
                    f"LifecyclePlugin(dependency_key={key!r}): the app already has a dependency "
                    f"named {key!r} (from dependencies= or another plugin); pass another "
                    f"dependency_key=, or None to add no dependency"
                )
            app_config.dependencies[key] = Provide(binding.provider(), sync_to_thread=False)
            # So that handlers may import these under TYPE_CHECKING only.
            for name, value in (
                ("LifecycleContext", LifecycleContext),
                ("LifespanContext", LifespanContext),
            ):
                app_config.signature_namespace.setdefault(name, value)
        if self.health is not None and self.health_path is not None:
            app_config.route_handlers.append(health_router(self.health, self.health_path))
        # Appended, never assigned: the app's and other plugins' lifespans stay (litestar#3601).
        app_config.lifespan.append(binding.lifespan)
        return app_config


class _Binding:
    """The plugin's link to one app: its lifespan manager, its running context."""

    __slots__ = ("context", "depth", "plugin", "published")

    def __init__(self, plugin: LifecyclePlugin) -> None:
        self.plugin = plugin
        self.context: LifespanContext | None = None
        self.depth = 0
        self.published: dict[str, Any] = {}

    @property
    def service_type(self) -> str:
        """The running context's service type, else the plugin's (``"app"`` if it has none)."""
        if self.context is not None:
            return self.context.service_type
        return self.plugin.service_type or "app"

    def provider(self) -> Any:
        def lifecycle_context() -> LifespanContext:
            context = self.context
            if context is None:
                raise LifecycleError(
                    f"the {self.service_type!r} lifespan of this Litestar app is not "
                    f"running, so there is no LifespanContext to inject: serve the app with a "
                    f"server that sends the ASGI lifespan (uvicorn, hypercorn, granian, "
                    f"'litestar run'), and in tests enter the client ('with TestClient(app) "
                    f"as client:')"
                )
            return context

        return lifecycle_context

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        plugin = self.plugin
        context = LifespanContext(plugin.service_type, plugin.environment, plugin.config)
        await plugin.lifespan.startup(
            context, concurrent=plugin.concurrent, sync_runner=plugin.sync_runner
        )
        try:
            self._publish(app, context)
        except BaseException:
            await plugin.lifespan.shutdown(context)
            raise
        self.depth += 1
        if self.depth == 1:
            self.context = context
            _running.setdefault(id(app), []).append(self)
        try:
            yield
        except BaseException:
            await self._stop(app, context)
            raise
        report = await self._stop(app, context)
        if not report.ok:
            # Litestar answers lifespan.shutdown.failed with it, as LifespanMiddleware does.
            raise ShutdownFailed(report)

    async def _stop(self, app: Litestar, context: LifespanContext) -> LifecycleReport:
        self.depth -= 1
        last = self.depth == 0
        try:
            if last:
                self._unpublish(app)
            return await self.plugin.lifespan.shutdown(context)
        finally:
            if last:
                self._forget(app)

    def _publish(self, app: Litestar, context: LifespanContext) -> None:
        state = app.state
        clashes = sorted(k for k, v in context.state.items() if k in state and state[k] is not v)
        if clashes:
            raise LifecycleError(
                f"the {context.service_type!r} hooks publish {', '.join(map(repr, clashes))} "
                f"in context.state, but app.state already holds "
                f"{'that key' if len(clashes) == 1 else 'those keys'} (from the app's state=, "
                f"another plugin, or a lifespan that started earlier); rename one of them "
                f"(a resource's key=)"
            )
        if self.depth == 0:
            self.published = dict(context.state)
        state.update(context.state)

    def _unpublish(self, app: Litestar) -> None:
        state = app.state
        for key, value in self.published.items():
            # Only our own values: the app may have replaced one while it ran.
            if key in state and state[key] is value:
                del state[key]
        self.published = {}

    def _forget(self, app: Litestar) -> None:
        self.context = None
        bindings = _running.get(id(app), [])
        if self in bindings:
            bindings.remove(self)
        if not bindings:
            _running.pop(id(app), None)


def get_context(app: Litestar, *, service_type: str | None = None) -> LifespanContext:
    """Return the `asgi_lifecycle.LifespanContext` of a running Litestar app.

    For code that has the app but is no handler: a test, a CLI command, a
    background task. Handlers receive the context by dependency injection.

    Args:
        app: The Litestar app, between its lifespan startup and shutdown.
        service_type: Which `LifecyclePlugin` to pick, when the app has several.

    Returns:
        The running context (its ``state`` is what was published on ``app.state``).

    Raises:
        LifecycleError: the app has no `LifecyclePlugin`, its lifespan is not
            running, or it has several and ``service_type`` does not pick one.
    """
    bindings = list(_running.get(id(app), ()))
    if service_type is not None:
        bindings = [b for b in bindings if b.service_type == str(service_type)]
    if len(bindings) == 1 and bindings[0].context is not None:
        return bindings[0].context
    plugins = [p for p in app.plugins.init if isinstance(p, LifecyclePlugin)]
    if not plugins:
        raise LifecycleError(
            "this Litestar app has no LifecyclePlugin; create it with "
            "Litestar(..., plugins=[LifecyclePlugin(service_type=...)])"
        )
    if not bindings:
        wanted = "" if service_type is None else f" of service type {service_type!r}"
        raise LifecycleError(
            f"the lifespan{wanted} of this Litestar app is not running: get the context "
            f"between startup and shutdown (in tests, inside 'with TestClient(app)')"
        )
    kinds = sorted(b.service_type for b in bindings)
    raise LifecycleError(
        f"this Litestar app runs several LifecyclePlugins ({', '.join(map(repr, kinds))}); "
        f"pass service_type= to get_context() to pick one"
    )
