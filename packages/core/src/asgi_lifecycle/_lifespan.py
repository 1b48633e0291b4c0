"""The public `Lifespan`: a thin facade joining the registry, the runs and the health monitor.

It registers hooks through the `Registry`, starts and stops runs through `Runs`
(one per service type and environment, shared by every starter), answers state
and health questions from the `HealthMonitor`, and reads the configuration at
the first startup of the process-wide `lifespan`. A forked child forgets its
parent's runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._context import ENVIRONMENT_VARIABLE, LifespanContext
from ._events import LifecycleListener, LifecycleState, Listeners
from ._hook import HealthCheck, Hook, HookKind
from ._registry import Registry
from ._report import HookResult, LifecycleReport
from ._validation import CHECK_OPTIONS, check_options

if TYPE_CHECKING:  # imported at first use: importing asgi_lifecycle stays cheap
    from ._blocking import BlockingRunner
    from ._calling import SyncRunner
    from ._config import Settings
    from ._health import HealthReport, Probe
    from ._runs import Runs

__all__ = ("Lifespan", "lifespan")

F = TypeVar("F", bound=Callable[..., Any])
HookRef = str | Callable[..., Any]  # a hook's name, or the function registered as the hook
Listener = LifecycleListener | Callable[[HookResult], object]

logger = logging.getLogger("asgi_lifecycle")

_instances: weakref.WeakSet[Lifespan] = weakref.WeakSet()
_UNCHANGED: Any = object()


def _forget_runs_after_fork() -> None:
    # A forked child inherits its parent's runs without their loops, threads or resources
    # (prefork workers, gunicorn --preload): in the child nothing is running yet.
    for instance in list(_instances):
        instance._lock = threading.RLock()
        instance._registry.lock = threading.RLock()
        if instance._made is not None:
            instance._made.forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_runs_after_fork)


def _default_environment(environment: str | None) -> str:
    return environment or os.environ.get(ENVIRONMENT_VARIABLE) or "development"


class Lifespan:
    """A registry of startup and shutdown hooks, and the runner that runs them.

    The process-wide default is `asgi_lifecycle.lifespan`; create your own for a
    library or a test so that its hooks stay apart.

    Args:
        concurrent: Run the hooks of one priority concurrently (still honouring
            ``after=``); priorities always run one after another.
        startup_timeout: Seconds the whole startup may take, or ``None``.
        shutdown_timeout: Seconds the whole shutdown (or a rollback) may take,
            or ``None``. Once spent, each hook still due gets a short grace
            (0.1 s) so that every hook is still given its turn.
        timeout: Seconds each hook may take when it has no ``timeout=`` of its
            own, or ``None`` for no such limit.
    """

    def __init__(
        self,
        *,
        concurrent: bool = False,
        startup_timeout: float | None = None,
        shutdown_timeout: float | None = 30.0,
        timeout: float | None = None,
    ) -> None:
        self.concurrent = False
        self.startup_timeout: float | None = None
        self.shutdown_timeout: float | None = 30.0
        self.timeout: float | None = None
        self.stop_signals = True
        self._explicit: set[str] = set()  # what configure() set in code: the file cannot change it
        self.configure(
            concurrent=concurrent,
            startup_timeout=startup_timeout,
            shutdown_timeout=shutdown_timeout,
            timeout=timeout,
        )
        self._explicit = {
            name
            for name, value, default in (
                ("concurrent", concurrent, False),
                ("startup_timeout", startup_timeout, None),
                ("shutdown_timeout", shutdown_timeout, 30.0),
                ("timeout", timeout, None),
            )
            if value != default
        }
        self._autoconfigure = False  # True for the process-wide `lifespan` only
        self._settings: Settings | None = None
        self._registry = Registry()
        self._lock = threading.RLock()  # guards the configuration and the listeners
        self._listeners = Listeners()
        self._health_ttl = 1.0
        self._made: Runs | None = None  # see _runs
        _instances.add(self)

    def __repr__(self) -> str:
        running = [] if self._made is None else self._made.keys()
        return f"<Lifespan hooks={len(self._registry)} running={running!r}>"

    @property
    def _runs(self) -> Runs:
        """This registry's runs in the process, with their states and health checks' cache.

        Made at the first start, state or health question, with the runner's modules:
        a process that only registers hooks, or never starts, does not import them.
        """
        runs = self._made
        if runs is None:
            from ._runs import Runs

            with self._lock:
                runs = self._made
                if runs is None:
                    runs = self._made = Runs(self._registry, self._listeners, self._health_ttl)
        return runs

    def configure(
        self,
        *,
        concurrent: bool | None = None,
        startup_timeout: float | None = _UNCHANGED,
        shutdown_timeout: float | None = _UNCHANGED,
        timeout: float | None = _UNCHANGED,
        health_ttl: float | None = None,
        stop_signals: bool | None = None,
    ) -> None:
        """Change how runs that start from now on are run, for example on the default `lifespan`.

        ``lifespan.configure(concurrent=True, startup_timeout=20)`` in the hook
        module sets them for every process that imports it. Arguments left out
        stay as they are; see `Lifespan` for what each means. ``health_ttl`` is
        how long, in seconds, a health check's result is served from the cache
        (1 s by default; see `health`). ``stop_signals=False`` leaves SIGTERM
        and SIGINT entirely to the server (see `request_stop`).

        Raises:
            TypeError: a value of the wrong type, or a budget that is not above 0.
        """
        if concurrent is not None and not isinstance(concurrent, bool):
            raise TypeError(f"Lifespan(concurrent=...) must be True or False, got {concurrent!r}")
        budgets = {
            "startup_timeout": startup_timeout,
            "shutdown_timeout": shutdown_timeout,
            "timeout": timeout,
        }
        for label, value in budgets.items():
            if (
                value is not _UNCHANGED
                and value is not None
                and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0)
            ):
                raise TypeError(
                    f"Lifespan({label}=...) must be a number of seconds above 0, or None "
                    f"for no limit; got {value!r}"
                )
        if concurrent is not None:
            self.concurrent = concurrent
            self._explicit.add("concurrent")
        if startup_timeout is not _UNCHANGED:
            self.startup_timeout = None if startup_timeout is None else float(startup_timeout)
            self._explicit.add("startup_timeout")
        if shutdown_timeout is not _UNCHANGED:
            self.shutdown_timeout = None if shutdown_timeout is None else float(shutdown_timeout)
            self._explicit.add("shutdown_timeout")
        if timeout is not _UNCHANGED:
            self.timeout = None if timeout is None else float(timeout)
            self._explicit.add("timeout")
        if stop_signals is not None:
            if not isinstance(stop_signals, bool):
                raise TypeError(
                    f"Lifespan.configure(stop_signals=...) must be True or False, got "
                    f"{stop_signals!r}"
                )
            self.stop_signals = stop_signals
        if health_ttl is not None:
            if (
                isinstance(health_ttl, bool)
                or not isinstance(health_ttl, int | float)
                or (health_ttl < 0)
            ):
                raise TypeError(
                    f"Lifespan.configure(health_ttl=...) must be a number of seconds, 0 or more; "
                    f"got {health_ttl!r}"
                )
            self._health_ttl = float(health_ttl)
            if self._made is not None:
                self._made.health.ttl = self._health_ttl

    def configure_from(self, settings: Settings, *, import_modules: bool = True) -> None:
        """Apply a configuration (`load_settings`): its budgets, then its hook modules.

        ``timeout``, ``startup_timeout``, ``shutdown_timeout`` and ``concurrent``
        are taken from ``settings`` unless code set them (the constructor or
        `configure`), which wins. Then `discover` imports ``settings.modules`` and
        the ``asgi_lifecycle.modules`` entry points. Contexts made without a
        service type, environment or config take them from ``settings`` at
        startup. The process-wide `lifespan` calls this by itself at its first
        startup when a ``[tool.asgi-lifecycle]`` table or an ``ASGI_LIFECYCLE_*``
        variable is there.

        Args:
            settings: The configuration.
            import_modules: Whether to import the hook modules too.

        Raises:
            ConfigurationError: a hook module does not import.
        """
        with self._lock:
            for name in ("timeout", "startup_timeout", "shutdown_timeout", "concurrent"):
                if name not in self._explicit:
                    setattr(self, name, getattr(settings, name))
            self._settings = settings
        if import_modules:
            from ._config import discover

            discover(settings)

    def _prepare(self, context: LifespanContext) -> None:
        """Fill a context's defaults from the configuration; configure once per process."""
        settings = self._settings
        first = settings is None
        if settings is None:
            if not self._autoconfigure:
                return
            from ._config import load_settings

            settings = load_settings()
            if not settings.configured:
                self._autoconfigure = False  # nothing configured: never look again
                return
        defaulted = context._defaulted
        service_type = settings.service_type if "service_type" in defaulted else None
        service = settings.for_service(service_type or context.service_type)
        if first:
            self.configure_from(service)
            self._settings = settings
        if "service_type" in defaulted:
            context.service_type = service.service_type
        if "environment" in defaulted:
            context.environment = service.environment
        if "config" in defaulted:
            context.config = service.config
        context._defaulted = frozenset()

    # -- registration -------------------------------------------------------------

    @overload
    def on_start(self, func: F, /) -> F: ...
    @overload
    def on_start(
        self,
        /,
        *,
        priority: int = 0,
        name: str | None = None,
        service_types: str | Iterable[str] | None = None,
        environments: str | Iterable[str] | None = None,
        timeout: float | None = None,
        critical: bool = True,
        after: HookRef | Iterable[HookRef] = (),
    ) -> Callable[[F], F]: ...
    def on_start(self, func: Any = None, /, **options: Any) -> Any:
        """Register a startup hook: a plain or async function taking no argument or the context.

        Use as ``@lifespan.on_start`` or ``@lifespan.on_start(priority=..., ...)``.

        Args:
            func: The hook, when used as a bare decorator.
            **options: ``priority`` (the phase, default 0: lowest starts first),
                ``name`` (default ``module.qualname``), ``service_types`` and
                ``environments`` (``None``: all; a string: that one), ``timeout``
                (seconds), ``critical`` (default True: its failure stops startup),
                ``after`` (the hooks it depends on, by name or by function: it
                starts after them and stops before them).

        Returns:
            The function unchanged (or a decorator that returns it unchanged).

        Raises:
            HookRegistrationError: when the hook or an option is wrong.
        """
        return self._decorate("start", "on_start", func, options)

    @overload
    def on_shutdown(self, func: F, /) -> F: ...
    @overload
    def on_shutdown(
        self,
        /,
        *,
        priority: int = 0,
        name: str | None = None,
        service_types: str | Iterable[str] | None = None,
        environments: str | Iterable[str] | None = None,
        timeout: float | None = None,
        after: HookRef | Iterable[HookRef] = (),
    ) -> Callable[[F], F]: ...
    def on_shutdown(self, func: Any = None, /, **options: Any) -> Any:
        """Register a shutdown hook; the options are those of `on_start` but ``critical``.

        Shutdown hooks run in the reverse of the startup order, every one of them,
        even when others fail.
        """
        return self._decorate("shutdown", "on_shutdown", func, options)

    @overload
    def resource(self, func: F, /) -> F: ...
    @overload
    def resource(
        self,
        /,
        *,
        priority: int = 0,
        name: str | None = None,
        service_types: str | Iterable[str] | None = None,
        environments: str | Iterable[str] | None = None,
        timeout: float | None = None,
        critical: bool = True,
        after: HookRef | Iterable[HookRef] = (),
        key: str | None = None,
        check: Callable[..., Any] | None = None,
    ) -> Callable[[F], F]: ...
    def resource(self, func: Any = None, /, **options: Any) -> Any:
        """Register a resource: a generator (plain or async) that yields once.

        The code before the ``yield`` is its startup, the code after it its
        shutdown, which runs only if the startup finished. A yielded value other
        than ``None`` is published as ``context.state[key]`` (``key`` defaults to
        the function's ``__name__``). ``@contextmanager`` and
        ``@asynccontextmanager`` functions are accepted too. The options are
        those of `on_start`, plus ``key`` and ``check``: a health check that
        receives what the resource yielded (``check=ping_pool`` calls
        ``ping_pool(pool)``), registered under the resource's name with the
        defaults of `health_check`.
        """
        return self._decorate("resource", "resource", func, options)

    def add_start_hook(self, func: Callable[..., Any], /, **options: Any) -> None:
        """Register a startup hook without a decorator; see `on_start`."""
        self._register("start", "add_start_hook", func, options)

    def add_shutdown_hook(self, func: Callable[..., Any], /, **options: Any) -> None:
        """Register a shutdown hook without a decorator; see `on_shutdown`."""
        self._register("shutdown", "add_shutdown_hook", func, options)

    def add_resource(self, func: Callable[..., Any], /, **options: Any) -> None:
        """Register a resource without a decorator; see `resource`."""
        self._register("resource", "add_resource", func, options)

    @overload
    def health_check(self, func: F, /) -> F: ...
    @overload
    def health_check(
        self,
        /,
        *,
        name: str | None = None,
        resource: HookRef | None = None,
        service_types: str | Iterable[str] | None = None,
        environments: str | Iterable[str] | None = None,
        timeout: float = 2.0,
        critical: bool = True,
        after: HookRef | Iterable[HookRef] = (),
    ) -> Callable[[F], F]: ...
    def health_check(self, func: Any = None, /, **options: Any) -> Any:
        """Register a readiness check: a plain or async function, run when a probe asks.

        It passes by returning (``None``, ``True``, or a number or string it
        observed) and fails by raising or returning ``False``. It is called with
        nothing or the context; with ``resource=`` (a resource, by name or by
        function), with that resource's yielded value instead. A sync check runs
        off the loop. Checks run only while the run is ready, are bounded by
        their timeout, and are cached for ``health_ttl`` (see `health`).

        Args:
            func: The check, when used as a bare decorator.
            **options: ``name`` (default ``module.qualname``; a resource's name
                for a resource's check), ``resource``, ``service_types`` and
                ``environments`` (as for hooks; a resource's check inherits the
                resource's), ``timeout`` (seconds, default 2), ``critical``
                (default True: a failure makes the process not ready; False: it
                only degrades the report to ``warn``), ``after`` (hooks that must
                have started: the check fails while one of them did not).

        Returns:
            The function unchanged (or a decorator that returns it unchanged).

        Raises:
            HookRegistrationError: when the check or an option is wrong.
        """
        if func is not None:
            self._registry.add_check("health_check", func, options)
            return func
        if not options.keys() <= CHECK_OPTIONS:  # a misspelt option fails at the decorator call
            self._registry.add_check("health_check", None, options)

        def decorator(check: F) -> F:
            self._registry.add_check("health_check", check, options)
            return check

        return decorator

    def add_health_check(self, func: Callable[..., Any], /, **options: Any) -> None:
        """Register a health check without a decorator; see `health_check`."""
        self._registry.add_check("add_health_check", func, options)

    @property
    def health_checks(self) -> tuple[HealthCheck, ...]:
        """Every registered health check, in registration order."""
        return self._registry.all_checks()

    def _decorate(self, kind: HookKind, verb: str, func: Any, options: dict[str, Any]) -> Any:
        if func is not None:
            self._register(kind, verb, func, options)
            return func
        check_options(kind, verb, options)  # a misspelt option fails at the decorator call

        def decorator(hook: F) -> F:
            self._register(kind, verb, hook, options)
            return hook

        return decorator

    def _register(self, kind: HookKind, verb: str, func: Any, options: dict[str, Any]) -> None:
        hook = self._registry.add(kind, verb, func, options)
        if hook is not None and self._made is not None:
            self._warn_late(hook, self._made)

    def _warn_late(self, hook: Hook, runs: Runs) -> None:
        for service_type, environment in runs.missed_by(hook):
            logger.warning(
                "hook %r (%s) was registered after the startup of %r (%s) began in this "
                "process, so it does not run in that run; import its module before startup "
                "(it runs from the next startup on)",
                hook.name, hook.source, service_type, environment,
            )  # fmt: skip

    def add_listener(self, listener: Listener) -> None:
        """Tell a listener what every run does (metrics, tracing, logs).

        ``listener`` is a `LifecycleListener` (its overridden methods are called:
        phases, hooks, states, checks) or a plain callable, called with the
        `HookResult` of every hook run. A listener that raises is logged and
        otherwise ignored.
        """
        if not callable(listener) and not isinstance(listener, LifecycleListener):
            raise TypeError(
                f"add_listener() needs a LifecycleListener or a callable taking a HookResult, "
                f"got {listener!r}"
            )
        with self._lock:
            self._set_listeners((*self._listeners.registered, listener))

    def remove_listener(self, listener: Listener) -> None:
        """Stop telling a listener added with `add_listener`.

        Raises:
            ValueError: it was not added.
        """
        with self._lock:
            listeners = list(self._listeners.registered)
            listeners.remove(listener)
            self._set_listeners(listeners)

    def _set_listeners(self, listeners: Iterable[Listener]) -> None:
        self._listeners = Listeners(listeners)
        if self._made is not None:
            self._made.listeners = self._listeners

    def reset_instance(self) -> None:
        """Forget every hook, check, listener, run and state (for tests). Runs are not shut down."""
        with self._lock:
            self._registry.clear()
            self._set_listeners(())
            if self._made is not None:
                self._made.forget()

    @property
    def hooks(self) -> tuple[Hook, ...]:
        """Every registered hook, in registration order."""
        return self._registry.hooks

    # -- planning -----------------------------------------------------------------

    def plan(self, service_type: str, environment: str | None = None) -> tuple[Hook, ...]:
        """Return the hooks a run would run, in forward (startup) order, running nothing.

        Shutdown hooks and teardowns run in exactly the reverse of this order.

        Args:
            service_type: The run's service type.
            environment: The run's environment (default as in `LifespanContext`).

        Raises:
            HookRegistrationError: an ``after=`` name that no hook has, or two
                resources of the run publishing the same state key.
        """
        return self._registry.plan(str(service_type), _default_environment(environment)).hooks

    # -- running ------------------------------------------------------------------

    def is_initialized(self) -> bool:
        """Return whether a run is between a successful startup and its shutdown."""
        return self._made is not None and self._made.running()

    async def startup(
        self,
        context: LifespanContext,
        *,
        concurrent: bool | None = None,
        sync_runner: SyncRunner | None = None,
    ) -> LifecycleReport:
        """Run the startup hooks and resource setups that match the context.

        A run that is already running (same service type and environment) is
        joined instead: its hooks do not run again, ``context`` shares its state
        and metadata, and it stops when the last of its starters shuts down.

        Args:
            context: Who is starting; hooks receive the run's context.
            concurrent: Override the `Lifespan`'s ``concurrent`` for this run.
            sync_runner: How sync hooks are run (default: a daemon thread each).
                The Django adapter passes asgiref's ``sync_to_async``.

        Returns:
            The `LifecycleReport` of the startup.

        Raises:
            StartupFailed: a critical hook failed or timed out; everything that had
                started was rolled back first.
            HookRegistrationError: the hooks cannot be ordered (see `plan`).
        """
        self._prepare(context)
        return await self._runs.start(
            context,
            concurrent=self.concurrent if concurrent is None else concurrent,
            sync_runner=sync_runner,
            timeout=self.timeout,
            startup_timeout=self.startup_timeout,
            shutdown_timeout=self.shutdown_timeout,
            stop_signals=self.stop_signals,
        )

    def request_stop(
        self,
        service_type: str | None = None,
        environment: str | None = None,
        *,
        signum: int = signal.SIGTERM,
    ) -> None:
        """Do what a stop signal does to a run; safe from any thread and from a signal handler.

        A startup in progress is stopped at once: its running hooks are cancelled
        (a sync hook in a thread is abandoned), what had started is rolled back,
        and the startup fails with `StopRequested`, so the server exits without
        serving. A ready run is marked draining (see `mark_draining`); a further
        signal during its shutdown logs which hooks ran and which did not yet.
        The stop signals call it by themselves where the run's loop is the main
        thread's (ASGI servers) or `BlockingRunner` was started from it, unless
        ``stop_signals=False``; adapters that see a stop otherwise call it.

        Args:
            service_type: The run's service type (``None``: see `state`).
            environment: The run's environment.
            signum: The signal, for the messages.
        """
        if self._made is not None:
            self._made.request_stop(self._key(service_type, environment), signum)

    async def shutdown(self, context: LifespanContext) -> LifecycleReport:
        """Run the shutdown hooks and resource teardowns of the run ``context`` names.

        Every matching hook runs, in the reverse of the startup order, even when
        others fail or time out; failures are logged and reported, never raised.
        Stopping a run that is not running is harmless and logged.

        Returns:
            The `LifecycleReport` of the shutdown (empty if nothing was stopped).
        """
        return await self._runs.stop(context, self.shutdown_timeout)

    # -- health -------------------------------------------------------------------

    def _key(self, service_type: str | None, environment: str | None) -> tuple[str, str]:
        if service_type is None:
            latest = None if self._made is None else self._made.health.latest
            if latest is not None and (environment is None or environment == latest[1]):
                return latest
            service_type = "app"
        return (str(service_type), _default_environment(environment))

    def state(
        self, service_type: str | None = None, environment: str | None = None
    ) -> LifecycleState:
        """Return the `LifecycleState` of a run in this process.

        Args:
            service_type: The run's service type; ``None``: the run that began
                its startup most recently (the usual single run of a process).
            environment: The run's environment (default as in `LifespanContext`).
        """
        return self._runs.health.state(self._key(service_type, environment))

    def loop(
        self, service_type: str | None = None, environment: str | None = None
    ) -> asyncio.AbstractEventLoop | None:
        """Return the event loop a run started on (and its resources live on), while it runs.

        For code outside that loop (a thread, a probe) that must run a coroutine
        against the run's resources: ``asyncio.run_coroutine_threadsafe(coro, loop)``.
        """
        run = None if self._made is None else self._made.get(self._key(service_type, environment))
        return None if run is None else run.loop

    def mark_draining(
        self, service_type: str | None = None, environment: str | None = None
    ) -> None:
        """Turn readiness off before shutdown begins (a stop signal, a preStop hook).

        A ready run becomes ``draining``: readiness probes fail from now on, so a
        load balancer stops sending traffic while requests in flight finish, and
        the shutdown hooks close the resources only later. With no argument,
        every ready run of this `Lifespan` in the process is marked.
        """
        keys = (
            self._runs.health.keys()
            if service_type is None and environment is None
            else [self._key(service_type, environment)]
        )
        for key in keys:
            self._runs.drain(key)

    def liveness(
        self, service_type: str | None = None, environment: str | None = None
    ) -> HealthReport:
        """Return the liveness report: it fails only after a failed startup. Runs no check."""
        return self._runs.health.liveness(self._key(service_type, environment))

    async def health(
        self,
        service_type: str | None = None,
        environment: str | None = None,
        *,
        probe: Probe = "ready",
    ) -> HealthReport:
        """Return the readiness (or, with ``probe="live"``, liveness) report of a run.

        Readiness passes when the run is ``ready`` and every critical check
        passes; a failing non-critical check makes it ``warn`` (still ready).
        Checks run here, on the calling loop, each within its timeout, and their
        results are cached for ``health_ttl`` (`configure`); probes that arrive
        while a check runs share that run. Nothing is run unless the state is
        ``ready``.

        Args:
            service_type: The run's service type (``None``: see `state`).
            environment: The run's environment.
            probe: ``"ready"`` or ``"live"``.
        """
        key = self._key(service_type, environment)
        if probe == "live":
            return self._runs.health.liveness(key)
        if probe != "ready":
            raise ValueError(f"probe= must be 'ready' or 'live', got {probe!r}")
        runs = self._runs
        checks = self._registry.checks(*key)
        return await runs.health.readiness(key, checks, runs.get(key), runs.listeners)

    @contextlib.asynccontextmanager
    async def run(
        self,
        context: LifespanContext,
        *,
        concurrent: bool | None = None,
        sync_runner: SyncRunner | None = None,
    ) -> AsyncIterator[LifespanContext]:
        """Start, yield the context, and shut down when the block ends.

        ``async with lifespan.run(LifespanContext("test")) as context: ...``
        """
        await self.startup(context, concurrent=concurrent, sync_runner=sync_runner)
        try:
            yield context
        finally:
            await self.shutdown(context)

    def run_blocking(
        self,
        context: LifespanContext,
        *,
        concurrent: bool | None = None,
        sync_runner: SyncRunner | None = None,
    ) -> BlockingRunner:
        """Return a `BlockingRunner` for synchronous processes (workers, scripts, WSGI).

        It runs the startup on an event loop of its own, in a thread of its own,
        keeps that loop alive until shutdown so that resources made by async hooks
        stay usable, and runs coroutines on it for synchronous code::

            with lifespan.run_blocking(LifespanContext("worker")) as runner:
                runner.call(client.get("/"))
        """
        from ._blocking import BlockingRunner

        return BlockingRunner(self, context, concurrent=concurrent, sync_runner=sync_runner)


lifespan = Lifespan()
"""The process-wide default `Lifespan`: ``from asgi_lifecycle import lifespan``."""
lifespan._autoconfigure = True  # it reads the configuration at its first startup
