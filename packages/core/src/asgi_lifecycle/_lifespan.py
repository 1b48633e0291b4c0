"""The hook registry and its runner."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import os
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Future
from time import perf_counter
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._context import ENVIRONMENT_VARIABLE, LifespanContext
from ._errors import HookRegistrationError, HookTimeout, StartupFailed
from ._hooks import (
    Active,
    Hook,
    HookKind,
    SyncRunner,
    call_hook,
    make_hook,
    run_in_thread,
    setup_resource,
)
from ._report import Action, HookResult, LifecycleReport, Phase

if TYPE_CHECKING:
    from ._blocking import BlockingRunner

__all__ = ("Lifespan", "lifespan")

F = TypeVar("F", bound=Callable[..., Any])
Listener = Callable[[HookResult], object]
HookRef = str | Callable[..., Any]  # a hook's name, or the function registered as the hook

logger = logging.getLogger("asgi_lifecycle")

# Once the shutdown budget is spent, each hook still due gets this long, so that one
# hung hook cannot keep every later teardown from running at all.
_SHUTDOWN_GRACE = 0.1


class _Abort(Exception):
    """Raised inside a concurrent phase to cancel its other hooks."""


class _Run:
    """One running (or starting) combination of service type and environment."""

    def __init__(
        self,
        key: tuple[str, str],
        context: LifespanContext,
        plan: tuple[Hook, ...],
        concurrent: bool,
        sync_runner: SyncRunner,
    ) -> None:
        self.key = key
        self.context = context
        self.plan = plan
        self.concurrent = concurrent
        self.sync_runner = sync_runner
        self.refs = 1
        self.running = False
        self.report: LifecycleReport | None = None
        # Made only when a second starter arrives while the startup is still running.
        self.ready: Future[LifecycleReport] | None = None
        self.active: dict[str, Active] = {}
        self.publishers: dict[str, str] = {}
        self.begun: set[int] = set()


class _PhaseRun:
    """Runs the hooks of one phase of one run and records their results.

    A sequential phase with a budget arms one watchdog for the whole phase instead
    of a timer per hook: when the budget runs out it cancels the hook running then,
    which is recorded as timed out. Hooks with a tighter timeout of their own, hooks
    of a concurrent group, and hooks that start after the budget is spent get a
    timer each.
    """

    def __init__(self, owner: Lifespan, run: _Run, phase: Phase, budget: float | None) -> None:
        self.owner = owner
        self.run = run
        self.phase = phase
        self.budget = budget
        self.t0 = perf_counter()
        self.deadline = None if budget is None else self.t0 + budget
        self.results: dict[tuple[str, Action], HookResult] = {}
        self.listeners = tuple(owner._listeners)
        self.info = logger.isEnabledFor(logging.INFO)
        self.debug = logger.isEnabledFor(logging.DEBUG)
        self._watchdog: asyncio.TimerHandle | None = None
        self._expired = False
        self._current: asyncio.Task[Any] | None = None
        self._fired = False  # the watchdog cancelled the current hook

    def arm(self) -> None:
        """Start the phase's watchdog (sequential phases with a budget)."""
        if self.deadline is not None and self._watchdog is None:
            loop = asyncio.get_running_loop()
            self._watchdog = loop.call_at(
                loop.time() + self.deadline - perf_counter(), self._expire
            )

    def disarm(self) -> None:
        """Stop the watchdog at the end of the phase."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def _expire(self) -> None:
        self._expired = True
        if self._current is not None:
            self._fired = True
            self._current.cancel()

    async def guarded(
        self,
        hook: Hook,
        action: Action,
        call: Callable[[], Awaitable[Any]],
        *,
        watched: bool = False,
    ) -> HookResult:
        started = perf_counter()
        limit = hook.timeout
        by_budget = False
        if self.deadline is not None:
            remaining = self.deadline - started
            if watched and not self._expired and (limit is None or limit >= remaining):
                return await self._watched(hook, action, call, started)
            if self.phase != "startup":
                remaining = max(remaining, _SHUTDOWN_GRACE)
            if limit is None or remaining < limit:
                limit, by_budget = max(remaining, 0.0), True
        if self.debug:
            logger.debug("%s %r: %s %s", self.phase, self.run.key[0], action, hook.name)
        error: BaseException | None = None
        outcome: Any = "ok"
        scope: asyncio.Timeout | None = None
        try:
            if limit is None:
                await call()
            elif limit <= 0:
                raise TimeoutError
            else:
                async with asyncio.timeout(limit) as scope:
                    await call()
        except asyncio.CancelledError:
            self.record(HookResult(hook, action, "cancelled", started - self.t0,
                                   perf_counter() - started))  # fmt: skip
            raise
        except TimeoutError as exc:
            if limit is not None and (scope is None or scope.expired()):
                seconds = self.budget if by_budget and self.budget is not None else limit
                error = HookTimeout(hook.name, seconds, budget=by_budget, thread=not hook.is_async)
                outcome = "timed_out"
            else:
                error, outcome = exc, "failed"
        except BaseException as exc:  # recorded, then acted on by the caller
            error, outcome = exc, "failed"
        result = HookResult(
            hook, action, outcome, started - self.t0, perf_counter() - started, error
        )
        self.record(result)
        return result

    async def _watched(
        self, hook: Hook, action: Action, call: Callable[[], Awaitable[Any]], started: float
    ) -> HookResult:
        """Run a hook under the phase's watchdog instead of a timer of its own."""
        if self.debug:
            logger.debug("%s %r: %s %s", self.phase, self.run.key[0], action, hook.name)
        task = asyncio.current_task()
        self._current = task
        error: BaseException | None = None
        outcome: Any = "ok"
        try:
            await call()
        except asyncio.CancelledError:
            if not self._fired or task is None:
                self.record(HookResult(hook, action, "cancelled", started - self.t0,
                                       perf_counter() - started))  # fmt: skip
                raise
            task.uncancel()
            assert self.budget is not None
            error = HookTimeout(hook.name, self.budget, budget=True, thread=not hook.is_async)
            outcome = "timed_out"
        except BaseException as exc:  # recorded, then acted on by the caller
            error, outcome = exc, "failed"
        finally:
            self._current = None
            if self._fired and outcome != "timed_out" and task is not None:
                task.uncancel()  # the hook swallowed the watchdog's cancellation
            self._fired = False
        result = HookResult(
            hook, action, outcome, started - self.t0, perf_counter() - started, error
        )
        self.record(result)
        return result

    def record(self, result: HookResult) -> None:
        self.results[(result.hook.name, result.action)] = result
        hook = result.hook
        if result.outcome == "ok":
            if self.info:
                logger.info(
                    "%s %r: %s %s ok in %.1f ms",
                    self.phase, self.run.key[0], result.action, hook.name, result.duration * 1000,
                )  # fmt: skip
        elif result.error is not None:
            level = logging.ERROR if hook.critical or self.phase != "startup" else logging.WARNING
            error = result.error
            logger.log(
                level,
                "%s %r: %s %s %s after %.1f ms (%s): %s: %s",
                self.phase, self.run.key[0], result.action, hook.name, result.outcome,
                result.duration * 1000, hook.source, type(error).__name__, error,
                exc_info=None if isinstance(error, HookTimeout) else error,
            )  # fmt: skip
        for listener in self.listeners:
            try:
                listener(result)
            except Exception:
                logger.exception(
                    "listener %r failed on %s of %s", listener, result.action, hook.name
                )

    def report(self, expected: Iterable[tuple[Hook, Action]]) -> LifecycleReport:
        results = self.results
        ordered = [
            results.get((hook.name, action)) or HookResult(hook, action, "skipped", 0.0, 0.0)
            for hook, action in expected
        ]
        return LifecycleReport(
            phase=self.phase,
            service_type=self.run.key[0],
            environment=self.run.key[1],
            results=tuple(ordered),
            duration=perf_counter() - self.t0,
            concurrent=self.run.concurrent,
        )


def _phases(plan: tuple[Hook, ...]) -> list[list[Hook]]:
    groups: list[list[Hook]] = []
    for hook in plan:
        if groups and groups[-1][0].priority == hook.priority:
            groups[-1].append(hook)
        else:
            groups.append([hook])
    return groups


def _close_match(word: str, candidates: Iterable[str]) -> str:
    """A "did you mean" hint; difflib is imported only when a mistake needs one."""
    import difflib

    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _default_environment(environment: str | None) -> str:
    return environment or os.environ.get(ENVIRONMENT_VARIABLE) or "development"


_instances: weakref.WeakSet[Lifespan] = weakref.WeakSet()
_UNCHANGED: Any = object()


def _forget_runs_after_fork() -> None:
    # A forked child inherits its parent's runs without their loops, threads or resources
    # (prefork workers, gunicorn --preload): in the child nothing is running yet.
    for instance in list(_instances):
        instance._lock = threading.RLock()
        instance._runs = {}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_runs_after_fork)


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
    """

    def __init__(
        self,
        *,
        concurrent: bool = False,
        startup_timeout: float | None = None,
        shutdown_timeout: float | None = 30.0,
    ) -> None:
        self.concurrent = False
        self.startup_timeout: float | None = None
        self.shutdown_timeout: float | None = 30.0
        self.configure(
            concurrent=concurrent,
            startup_timeout=startup_timeout,
            shutdown_timeout=shutdown_timeout,
        )
        self._lock = threading.RLock()
        self._hooks: dict[str, Hook] = {}
        self._dependents: dict[str, list[str]] = {}
        self._seq = 0
        self._version = 0
        self._plans: dict[tuple[str, str], tuple[int, tuple[Hook, ...]]] = {}
        self._runs: dict[tuple[str, str], _Run] = {}
        self._listeners: list[Listener] = []
        _instances.add(self)

    def __repr__(self) -> str:
        return f"<Lifespan hooks={len(self._hooks)} running={sorted(self._runs)!r}>"

    def configure(
        self,
        *,
        concurrent: bool | None = None,
        startup_timeout: float | None = _UNCHANGED,
        shutdown_timeout: float | None = _UNCHANGED,
    ) -> None:
        """Change how runs that start from now on are run, for example on the default `lifespan`.

        ``lifespan.configure(concurrent=True, startup_timeout=20)`` in the hook
        module sets them for every process that imports it. Arguments left out
        stay as they are; see `Lifespan` for what each means.

        Raises:
            TypeError: a value of the wrong type, or a budget that is not above 0.
        """
        if concurrent is not None and not isinstance(concurrent, bool):
            raise TypeError(f"Lifespan(concurrent=...) must be True or False, got {concurrent!r}")
        budgets = {"startup_timeout": startup_timeout, "shutdown_timeout": shutdown_timeout}
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
        if startup_timeout is not _UNCHANGED:
            self.startup_timeout = None if startup_timeout is None else float(startup_timeout)
        if shutdown_timeout is not _UNCHANGED:
            self.shutdown_timeout = None if shutdown_timeout is None else float(shutdown_timeout)

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
        return self._decorate("start", func, options)

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
        return self._decorate("shutdown", func, options)

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
    ) -> Callable[[F], F]: ...
    def resource(self, func: Any = None, /, **options: Any) -> Any:
        """Register a resource: a generator (plain or async) that yields once.

        The code before the ``yield`` is its startup, the code after it its
        shutdown, which runs only if the startup finished. A yielded value other
        than ``None`` is published as ``context.state[key]`` (``key`` defaults to
        the function's ``__name__``). ``@contextmanager`` and
        ``@asynccontextmanager`` functions are accepted too. The options are
        those of `on_start`, plus ``key``.
        """
        return self._decorate("resource", func, options)

    def add_start_hook(self, func: Callable[..., Any], /, **options: Any) -> None:
        """Register a startup hook without a decorator; see `on_start`."""
        self._register("start", func, options)

    def add_shutdown_hook(self, func: Callable[..., Any], /, **options: Any) -> None:
        """Register a shutdown hook without a decorator; see `on_shutdown`."""
        self._register("shutdown", func, options)

    def add_resource(self, func: Callable[..., Any], /, **options: Any) -> None:
        """Register a resource without a decorator; see `resource`."""
        self._register("resource", func, options)

    _OPTIONS = frozenset(
        ("priority", "name", "service_types", "environments", "timeout", "critical", "after", "key")
    )

    def _decorate(self, kind: HookKind, func: Any, options: dict[str, Any]) -> Any:
        self._check_options(kind, options)
        if func is not None:
            if options:  # pragma: no cover - the positional form takes no options
                raise TypeError("pass either the function or keyword options, not both")
            self._register(kind, func, {}, checked=True)
            return func

        def decorator(hook: F) -> F:
            self._register(kind, hook, options, checked=True)
            return hook

        return decorator

    def _check_options(self, kind: HookKind, options: dict[str, Any]) -> None:
        allowed = set(self._OPTIONS)
        if kind != "resource":
            allowed.discard("key")
        if kind == "shutdown":
            allowed.discard("critical")
        for option in options:
            if option not in allowed:
                verb = {"start": "on_start", "shutdown": "on_shutdown", "resource": "resource"}[
                    kind
                ]
                hint = _close_match(option, allowed)
                raise TypeError(
                    f"lifespan.{verb}() got an unexpected keyword argument {option!r}{hint} "
                    f"(it takes {', '.join(sorted(allowed))})"
                )

    def _register(
        self, kind: HookKind, func: Any, options: dict[str, Any], *, checked: bool = False
    ) -> None:
        if not checked:
            self._check_options(kind, options)
        defaults: dict[str, Any] = {
            "priority": 0, "name": None, "service_types": None, "environments": None,
            "timeout": None, "critical": True, "after": (), "key": None,
        }  # fmt: skip
        defaults.update(options)
        with self._lock:
            defaults["after"] = self._after_names(defaults["after"])
            hook = make_hook(kind, func, seq=self._seq, **defaults)
            existing = self._hooks.get(hook.name)
            if existing is not None:
                if existing.same_registration(hook):
                    logger.debug("hook %s is already registered the same way; ignored", hook.name)
                    return
                if existing.func is hook.func:
                    raise HookRegistrationError(
                        f"hook {hook.name!r} ({hook.source}) is already registered with other "
                        f"options ({existing!r}); register it once, or give the second "
                        f"registration its own name="
                    )
                raise HookRegistrationError(
                    f"two hooks are named {hook.name!r}: one defined at {existing.source}, "
                    f"the other at {hook.source}; pass name= to tell them apart"
                )
            self._check_edges(hook)
            self._hooks[hook.name] = hook
            for dependency in hook.after:
                self._dependents.setdefault(dependency, []).append(hook.name)
            self._seq += 1
            self._version += 1

    def _after_names(self, after: Any) -> Any:
        """Let after= name a hook by its function too: the function's registered name."""
        if callable(after) and not isinstance(after, str):
            after = (after,)
        if isinstance(after, str) or not isinstance(after, Iterable):
            return after
        names: list[Any] = []
        for item in after:
            if callable(item) and not isinstance(item, str):
                found = next((h.name for h in self._hooks.values() if h.func is item), None)
                module = getattr(item, "__module__", None) or "?"
                qualname = getattr(item, "__qualname__", None) or repr(item)
                item = found or f"{module}.{qualname}"
            names.append(item)
        return tuple(names)

    def _check_edges(self, hook: Hook) -> None:
        for dependency in hook.after:
            other = self._hooks.get(dependency)
            if other is not None and other.priority > hook.priority:
                raise _higher_phase(hook, other)
        for dependent_name in self._dependents.get(hook.name, ()):
            dependent = self._hooks[dependent_name]
            if hook.priority > dependent.priority:
                raise _higher_phase(dependent, hook)
        # A new cycle must pass through the new hook: walk its dependencies.
        path = [hook.name]
        seen: set[str] = set()

        def walk(name: str) -> None:
            node = hook if name == hook.name else self._hooks.get(name)
            if node is None:
                return
            for dependency in node.after:
                if dependency == hook.name:
                    cycle = " -> ".join([*path, hook.name])
                    raise HookRegistrationError(
                        f"hook {hook.name!r} ({hook.source}): after= makes a cycle: {cycle} "
                        f"(each name must start after the next); remove one of the after= names"
                    )
                if dependency not in seen:
                    seen.add(dependency)
                    path.append(dependency)
                    walk(dependency)
                    path.pop()

        walk(hook.name)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(result)`` with the `HookResult` of every hook run (metrics, tracing).

        A listener that raises is logged and otherwise ignored.
        """
        if not callable(listener):
            raise TypeError(f"add_listener() needs a callable, got {listener!r}")
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling a listener added with `add_listener`."""
        with self._lock:
            self._listeners.remove(listener)

    def reset_instance(self) -> None:
        """Forget every hook, listener and run (for tests). Runs are not shut down."""
        with self._lock:
            self._hooks.clear()
            self._dependents.clear()
            self._plans.clear()
            self._runs.clear()
            self._listeners.clear()
            self._version += 1

    @property
    def hooks(self) -> tuple[Hook, ...]:
        """Every registered hook, in registration order."""
        with self._lock:
            return tuple(self._hooks.values())

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
        environment = _default_environment(environment)
        key = (str(service_type), environment)
        with self._lock:
            cached = self._plans.get(key)
            if cached is not None and cached[0] == self._version:
                return cached[1]
            plan = self._build_plan(*key)
            self._plans[key] = (self._version, plan)
            return plan

    def _build_plan(self, service_type: str, environment: str) -> tuple[Hook, ...]:
        selected = [h for h in self._hooks.values() if h.matches(service_type, environment)]
        keys: dict[str, Hook] = {}
        for hook in selected:
            for dependency in hook.after:
                if dependency not in self._hooks:
                    hint = _close_match(dependency, self._hooks)
                    raise HookRegistrationError(
                        f"hook {hook.name!r} ({hook.source}): after= names {dependency!r}, but no "
                        f"hook has that name{hint} (is its module imported before startup?)"
                    )
            # Keys given with key= clash at once; default keys (the function's name) only if
            # both resources really publish a value, which the runner checks at startup.
            if hook.key is not None and hook.key_given:
                other = keys.get(hook.key)
                if other is not None:
                    raise HookRegistrationError(
                        f"resources {other.name!r} ({other.source}) and {hook.name!r} "
                        f"({hook.source}) both publish context.state[{hook.key!r}] for "
                        f"service type {service_type!r}; give one of them another key="
                    )
                keys[hook.key] = hook
        selected.sort(key=lambda h: h.priority)
        ordered: list[Hook] = []
        for group in _phases(tuple(selected)):
            ordered.extend(_topological(group))
        return tuple(ordered)

    # -- running ------------------------------------------------------------------

    def is_initialized(self) -> bool:
        """Return whether a run is between a successful startup and its shutdown."""
        with self._lock:
            return any(run.running for run in self._runs.values())

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
        key = (context.service_type, context.environment)
        with self._lock:
            run = self._runs.get(key)
            if run is None:
                plan = self.plan(*key)
                run = _Run(
                    key,
                    context,
                    plan,
                    self.concurrent if concurrent is None else concurrent,
                    sync_runner or run_in_thread,
                )
                self._runs[key] = run
                owner = True
            else:
                run.refs += 1
                owner = False
                waiter = None
                if not run.running:
                    if run.ready is None:
                        run.ready = Future()
                    waiter = run.ready
        if not owner:
            logger.info(
                "startup of %r (%s) is already %s in this process; joining it: its hooks "
                "run once and it stops when the last starter shuts down",
                key[0], key[1], "done" if run.running else "in progress",
            )  # fmt: skip
            if waiter is None:
                assert run.report is not None
                report = run.report
            else:
                try:
                    report = await asyncio.wrap_future(waiter)
                except BaseException:
                    with self._lock:
                        run.refs -= 1
                    raise
            _attach(context, run.context)
            return report
        try:
            report = await self._start(run)
        except BaseException as exc:  # joiners waiting on this startup fail too
            with self._lock:
                if self._runs.get(key) is run:
                    del self._runs[key]
                waiter = run.ready
            if waiter is not None:
                waiter.set_exception(exc)
            raise
        with self._lock:
            run.running = True
            run.report = report
            waiter = run.ready
        if waiter is not None:
            waiter.set_result(report)
        return report

    async def shutdown(self, context: LifespanContext) -> LifecycleReport:
        """Run the shutdown hooks and resource teardowns of the run ``context`` names.

        Every matching hook runs, in the reverse of the startup order, even when
        others fail or time out; failures are logged and reported, never raised.
        Stopping a run that is not running is harmless and logged.

        Returns:
            The `LifecycleReport` of the shutdown (empty if nothing was stopped).
        """
        key = (context.service_type, context.environment)
        with self._lock:
            run = self._runs.get(key)
            if run is not None and run.running:
                run.refs -= 1
                remaining = run.refs
                if remaining == 0:
                    del self._runs[key]
            else:
                remaining = -1
        if run is None or remaining == -1:
            logger.warning(
                "shutdown of %r (%s) requested, but it is not running in this process; "
                "nothing to do",
                key[0], key[1],
            )  # fmt: skip
            return LifecycleReport("shutdown", key[0], key[1], (), 0.0)
        _attach(context, run.context)
        if remaining > 0:
            logger.info(
                "shutdown of %r (%s): still used by %d other starter(s); it keeps running",
                key[0], key[1], remaining,
            )  # fmt: skip
            return LifecycleReport("shutdown", key[0], key[1], (), 0.0)
        run.running = False
        return await self._stop(run, "shutdown")

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

    async def _start(self, run: _Run) -> LifecycleReport:
        phase = _PhaseRun(self, run, "startup", self.startup_timeout)
        failure: HookResult | None = None
        phase.arm()
        try:
            for group in _phases(run.plan):
                run.begun.add(group[0].priority)
                if run.concurrent and len(group) > 1:
                    failure = await self._start_concurrently(phase, run, group)
                else:
                    for hook in group:
                        if hook.kind == "shutdown":
                            continue
                        result = await self._start_one(phase, run, hook, watched=True)
                        if not result.ok and hook.critical:
                            failure = result
                            break
                if failure is not None:
                    break
        except BaseException:
            # Cancelled from outside (server stopping, Ctrl-C): undo, then let it through.
            phase.disarm()
            await self._stop(run, "rollback")
            raise
        finally:
            phase.disarm()
        report = phase.report(
            (h, "start" if h.kind == "start" else "setup") for h in run.plan if h.kind != "shutdown"
        )
        if failure is None:
            return report
        rollback = await self._stop(run, "rollback")
        assert failure.error is not None
        if not isinstance(failure.error, Exception):
            raise failure.error  # KeyboardInterrupt, SystemExit: after the rollback, as they were
        raise StartupFailed(failure.hook.name, failure.error, report, rollback) from failure.error

    async def _start_one(
        self, phase: _PhaseRun, run: _Run, hook: Hook, *, watched: bool = False
    ) -> HookResult:
        context = run.context
        if hook.kind == "start":
            return await phase.guarded(
                hook, "start", lambda: call_hook(hook, context, run.sync_runner), watched=watched
            )

        async def setup() -> None:
            value, active = await setup_resource(hook, context, run.sync_runner)
            run.active[hook.name] = active
            if value is None:
                return
            assert hook.key is not None
            if hook.key in context.state:
                by = run.publishers.get(hook.key, "a hook that wrote context.state directly")
                raise HookRegistrationError(
                    f"resource {hook.name!r} ({hook.source}) publishes context.state"
                    f"[{hook.key!r}], which {by!r} already set; give one of them another key="
                )
            context.state[hook.key] = value
            run.publishers[hook.key] = hook.name

        return await phase.guarded(hook, "setup", setup, watched=watched)

    async def _start_concurrently(
        self, phase: _PhaseRun, run: _Run, group: list[Hook]
    ) -> HookResult | None:
        done = {hook.name: asyncio.Event() for hook in group}
        failures: list[HookResult] = []

        async def one(hook: Hook) -> None:
            for dependency in hook.after:
                event = done.get(dependency)
                if event is not None:
                    await event.wait()
            if hook.kind != "shutdown":
                result = await self._start_one(phase, run, hook)
                if not result.ok and hook.critical:
                    failures.append(result)
                    raise _Abort  # its dependents stay waiting until the group cancels them
            done[hook.name].set()

        try:
            async with asyncio.TaskGroup() as tasks:
                for hook in group:
                    tasks.create_task(one(hook))
        except* _Abort:
            pass
        return failures[0] if failures else None

    async def _stop(self, run: _Run, name: Phase) -> LifecycleReport:
        phase = _PhaseRun(self, run, name, self.shutdown_timeout)
        expected: list[tuple[Hook, Action]] = []
        phase.arm()
        try:
            for group in reversed(_phases(run.plan)):
                if group[0].priority not in run.begun:
                    continue
                due = [h for h in reversed(group) if h.kind == "shutdown" or h.name in run.active]
                expected.extend((h, "stop" if h.kind == "shutdown" else "teardown") for h in due)
                if run.concurrent and len(due) > 1:
                    await self._stop_concurrently(phase, run, group)
                else:
                    for hook in due:
                        await self._stop_one(phase, run, hook, watched=True)
        finally:
            phase.disarm()
        if name == "shutdown":
            run.begun.clear()
        return phase.report(expected)

    async def _stop_one(
        self, phase: _PhaseRun, run: _Run, hook: Hook, *, watched: bool = False
    ) -> None:
        if hook.kind == "shutdown":
            call = lambda: call_hook(hook, run.context, run.sync_runner)  # noqa: E731
            await phase.guarded(hook, "stop", call, watched=watched)
            return
        active = run.active.pop(hook.name, None)
        if active is not None:
            await phase.guarded(hook, "teardown", active.close, watched=watched)

    async def _stop_concurrently(self, phase: _PhaseRun, run: _Run, group: list[Hook]) -> None:
        done = {hook.name: asyncio.Event() for hook in group}
        dependents: dict[str, list[str]] = {}
        for hook in group:
            for dependency in hook.after:
                if dependency in done:
                    dependents.setdefault(dependency, []).append(hook.name)

        async def one(hook: Hook) -> None:
            try:
                for name in dependents.get(hook.name, ()):
                    await done[name].wait()
                await self._stop_one(phase, run, hook)
            finally:
                done[hook.name].set()

        async with asyncio.TaskGroup() as tasks:
            for hook in group:
                tasks.create_task(one(hook))


def _attach(context: LifespanContext, run_context: LifespanContext) -> None:
    if context is not run_context:
        context.state = run_context.state
        context.metadata = run_context.metadata


def _higher_phase(hook: Hook, other: Hook) -> HookRegistrationError:
    return HookRegistrationError(
        f"hook {hook.name!r} ({hook.source}, priority {hook.priority}) has after="
        f"{other.name!r}, but {other.name!r} ({other.source}) has the higher priority "
        f"{other.priority} and so starts later; lower its priority or drop the after="
    )


def _topological(group: list[Hook]) -> list[Hook]:
    """Registration order, except that a hook comes after the hooks it names in after=."""
    if not any(hook.after for hook in group):
        return sorted(group, key=lambda h: h.seq)
    by_name = {hook.name: hook for hook in group}
    waiting = {hook.name: 0 for hook in group}
    dependents: dict[str, list[Hook]] = {}
    for hook in group:
        for dependency in hook.after:
            if dependency in by_name:
                waiting[hook.name] += 1
                dependents.setdefault(dependency, []).append(hook)
    ready = [(hook.seq, hook.name) for hook in group if waiting[hook.name] == 0]
    heapq.heapify(ready)
    ordered: list[Hook] = []
    while ready:
        _, name = heapq.heappop(ready)
        ordered.append(by_name[name])
        for dependent in dependents.get(name, ()):
            waiting[dependent.name] -= 1
            if waiting[dependent.name] == 0:
                heapq.heappush(ready, (dependent.seq, dependent.name))
    if len(ordered) != len(group):  # pragma: no cover - cycles are refused at registration
        stuck = sorted(set(by_name) - {h.name for h in ordered})
        raise HookRegistrationError(f"after= makes a cycle among {stuck}")
    return ordered


lifespan = Lifespan()
"""The process-wide default `Lifespan`: ``from asgi_lifecycle import lifespan``."""
