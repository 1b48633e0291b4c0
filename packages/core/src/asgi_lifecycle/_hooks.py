"""Hooks: what a registration describes, how it is validated, how it is called."""

from __future__ import annotations

import contextlib
import contextvars
import enum
import functools
import inspect
import threading
import types
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ._context import LifespanContext
from ._errors import HookRegistrationError

__all__ = ("Hook", "HookKind", "ServiceType", "SyncRunner", "run_in_thread")

HookKind = Literal["start", "shutdown", "resource"]
SyncRunner = Callable[[Callable[[], Any]], Awaitable[Any]]


class ServiceType(enum.StrEnum):
    """The usual kinds of process. Any other string is accepted as a service type too."""

    APP = "app"
    API = "api"
    WORKER = "worker"
    SCHEDULER = "scheduler"
    TEST = "test"


@dataclass(frozen=True, eq=False, repr=False)
class Hook:
    """An immutable description of one registered hook.

    Attributes:
        name: Unique name in its registry (default ``module.qualname``).
        kind: ``"start"``, ``"shutdown"`` or ``"resource"``.
        func: The registered function, unchanged.
        priority: The phase: the lowest phase starts first and stops last.
        service_types: The service types it runs for; ``None`` means all.
        environments: The environments it runs in; ``None`` means all.
        timeout: Seconds it may take, or ``None`` for no limit of its own.
        critical: Whether its failure at startup stops the startup.
        after: Names of hooks this one depends on: it starts after them and stops
            before them.
        key: For a resource, the ``context.state`` key its yielded value is
            published under; ``None`` for other hooks.
        source: ``file:line`` where the function was defined.
    """

    name: str
    kind: HookKind
    func: Callable[..., Any]
    priority: int
    service_types: frozenset[str] | None
    environments: frozenset[str] | None
    timeout: float | None
    critical: bool
    after: tuple[str, ...]
    key: str | None
    source: str
    is_async: bool = field(compare=False)
    takes_context: bool = field(compare=False)
    seq: int = field(compare=False)
    key_given: bool = field(default=False, compare=False)

    def matches(self, service_type: str, environment: str) -> bool:
        """Return whether this hook runs for the given service type and environment."""
        return (self.service_types is None or service_type in self.service_types) and (
            self.environments is None or environment in self.environments
        )

    def same_registration(self, other: Hook) -> bool:
        """Return whether ``other`` registers the same function in the same way."""
        return (
            self.func is other.func
            and self.kind == other.kind
            and self.priority == other.priority
            and self.service_types == other.service_types
            and self.environments == other.environments
            and self.timeout == other.timeout
            and self.critical == other.critical
            and self.after == other.after
            and self.key == other.key
        )

    def __repr__(self) -> str:
        return f"<Hook {self.kind} {self.name!r} priority={self.priority} at {self.source}>"


def describe(func: Any) -> str:
    """Return ``file:line`` of a callable's definition, as well as it can be found."""
    if type(func) is types.FunctionType and not hasattr(func, "__wrapped__"):
        return f"{func.__code__.co_filename}:{func.__code__.co_firstlineno}"
    target = func
    if isinstance(target, functools.partial):
        target = target.func
    with contextlib.suppress(ValueError):  # a __wrapped__ cycle: keep the outer object
        target = inspect.unwrap(target)
    code = getattr(target, "__code__", None)
    if code is None:
        code = getattr(vars(type(target)).get("__call__"), "__code__", None)
    if code is None:
        return "<unknown location>"
    return f"{code.co_filename}:{code.co_firstlineno}"


def _callable_target(func: Any) -> Any:
    """The function whose flavour (async, generator) decides how ``func`` is called."""
    if inspect.isfunction(func) or inspect.ismethod(func) or isinstance(func, functools.partial):
        return func
    if "__call__" in dir(type(func)) and not inspect.isclass(func) and not inspect.isbuiltin(func):
        return func.__call__
    return func


def _is_resource_factory(func: Any) -> bool:
    target = _callable_target(func)
    if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
        return True
    try:
        wrapped = inspect.unwrap(target)
    except ValueError:  # pragma: no cover
        return False
    return wrapped is not target and (
        inspect.isgeneratorfunction(wrapped) or inspect.isasyncgenfunction(wrapped)
    )


def _as_names(
    value: str | Iterable[str] | None, argument: str, where: str
) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        values: list[Any] = [value]
    elif isinstance(value, Iterable) and not isinstance(value, bytes | dict):
        values = list(value)
    else:
        raise HookRegistrationError(
            f"{where}: {argument}= must be a string, a collection of strings or None, "
            f"got {type(value).__name__}"
        )
    if not values:
        raise HookRegistrationError(
            f"{where}: {argument}= is empty, so the hook could never run; "
            f"pass None to run it for all, or name at least one"
        )
    for item in values:
        if not isinstance(item, str) or not item:
            raise HookRegistrationError(
                f"{where}: {argument}= must hold non-empty strings, got {item!r}"
            )
    return frozenset(str(item) for item in values)


def make_hook(
    kind: HookKind,
    func: Any,
    *,
    priority: Any,
    name: Any,
    service_types: Any,
    environments: Any,
    timeout: Any,
    critical: Any,
    after: Any,
    key: Any,
    seq: int,
) -> Hook:
    """Validate one registration and build its `Hook`.

    Raises:
        HookRegistrationError: naming the hook, where it was defined, and the fix.
    """
    verb = {"start": "on_start", "shutdown": "on_shutdown", "resource": "resource"}[kind]
    if not callable(func):
        raise HookRegistrationError(
            f"lifespan.{verb}() needs a function, got {func!r} ({type(func).__name__}); "
            f"use it as a decorator on a def or async def"
        )
    source = describe(func)
    default_name = f"{getattr(func, '__module__', None) or '?'}." + str(
        getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    )
    if name is not None and (not isinstance(name, str) or not name):
        raise HookRegistrationError(
            f"hook {default_name!r} ({source}): name= must be a non-empty string, got {name!r}"
        )
    hook_name: str = name if name is not None else default_name
    where = f"hook {hook_name!r} ({source})"

    if type(priority) is not int and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise HookRegistrationError(
            f"{where}: priority= must be an int (the phase number), got {priority!r}"
        )
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise HookRegistrationError(
                f"{where}: timeout= must be a number of seconds or None, got {timeout!r}"
            )
        if not timeout > 0:
            raise HookRegistrationError(
                f"{where}: timeout= must be more than 0 seconds, got {timeout!r}; "
                f"pass None for no limit"
            )
        timeout = float(timeout)
    if not isinstance(critical, bool):
        raise HookRegistrationError(f"{where}: critical= must be True or False, got {critical!r}")
    if after == ():
        after_names: tuple[str, ...] = ()
    elif isinstance(after, str):
        after_names = (after,)
    elif isinstance(after, Iterable) and not isinstance(after, bytes | dict):
        after_names = tuple(after)
    else:
        raise HookRegistrationError(
            f"{where}: after= must be a hook name or a collection of names, got {after!r}"
        )
    for dependency in after_names:
        if not isinstance(dependency, str) or not dependency:
            raise HookRegistrationError(
                f"{where}: after= must hold hook names (strings), got {dependency!r}; "
                f"pass the name a hook was registered with"
            )
        if dependency == hook_name:
            raise HookRegistrationError(f"{where}: after= names the hook itself")
    service_set = _as_names(service_types, "service_types", where)
    environment_set = _as_names(environments, "environments", where)

    target = _callable_target(func)
    flags = 0
    if type(func) is types.FunctionType and not hasattr(func, "__wrapped__"):
        flags = func.__code__.co_flags  # a plain function: its code flags say what it is
    plain = flags and not flags & (inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR)
    key_given = False
    if kind != "resource" and plain:
        is_async = bool(flags & inspect.CO_COROUTINE)
    elif kind == "resource":
        if not _is_resource_factory(func):
            raise HookRegistrationError(
                f"{where}: a resource must be a generator function that yields once "
                f"(setup before the yield, teardown after it), plain or async, or a "
                f"@contextmanager / @asynccontextmanager function; got {func!r}. "
                f"For a plain function use on_start() or on_shutdown()"
            )
        key_given = key is not None
        if key is None:
            key = getattr(func, "__name__", None) or hook_name
        if not isinstance(key, str) or not key:
            raise HookRegistrationError(f"{where}: key= must be a non-empty string, got {key!r}")
        is_async = inspect.isasyncgenfunction(target) or (
            not inspect.isgeneratorfunction(target)
            and inspect.isasyncgenfunction(inspect.unwrap(target))
        )
    else:
        if key is not None:  # pragma: no cover - not reachable through the public API
            raise HookRegistrationError(f"{where}: key= is only for resources")
        if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
            raise HookRegistrationError(
                f"{where}: is a generator function; register it with lifespan.resource() "
                f"to pair its setup and teardown, or remove the yield"
            )
        is_async = inspect.iscoroutinefunction(target)

    takes_context = _takes_context(func, where)
    return Hook(
        name=hook_name,
        kind=kind,
        func=func,
        priority=priority,
        service_types=service_set,
        environments=environment_set,
        timeout=timeout,
        critical=critical if kind != "shutdown" else False,
        after=after_names,
        key=key,
        source=source,
        is_async=is_async,
        takes_context=takes_context,
        seq=seq,
        key_given=key_given,
    )


_CO_VARARGS = inspect.CO_VARARGS


def _takes_context(func: Any, where: str) -> bool:
    code = getattr(func, "__code__", None)
    if inspect.isfunction(func) and code is not None and not hasattr(func, "__wrapped__"):
        # A plain function: its code object answers at a fraction of inspect.signature's cost.
        positional = code.co_argcount
        required = positional - len(func.__defaults__ or ())
        keyword_defaults = func.__kwdefaults__ or {}
        keyword_only = code.co_varnames[positional : positional + code.co_kwonlyargcount]
        missing = [name for name in keyword_only if name not in keyword_defaults]
        if missing or required > 1:
            return _takes_context_slow(func, where)  # for its detailed error message
        return positional > 0 or bool(code.co_flags & _CO_VARARGS)
    return _takes_context_slow(func, where)


def _takes_context_slow(func: Any, where: str) -> bool:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return False  # a builtin without a signature: call it with no argument
    positional = 0
    required = 0
    for parameter in signature.parameters.values():
        if parameter.kind is parameter.VAR_POSITIONAL:
            positional += 1
        elif parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            positional += 1
            if parameter.default is parameter.empty:
                required += 1
        elif parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty:
            raise HookRegistrationError(
                f"{where}: needs the keyword argument {parameter.name!r}, but a hook is called "
                f"with no argument or with the context only; give it a default"
            )
    if required > 1:
        raise HookRegistrationError(
            f"{where}: needs {required} arguments {tuple(signature.parameters)}, but a hook "
            f"takes either no argument or one (the LifespanContext)"
        )
    return positional > 0


def _coroutine_from_sync(hook: Hook, value: Any) -> HookRegistrationError:
    close = getattr(value, "close", None)
    if callable(close):
        close()  # never awaited: close it so Python does not warn about it
    return HookRegistrationError(
        f"hook {hook.name!r} ({hook.source}) is a plain function but returned "
        f"{type(value).__name__}; declare it with 'async def' so the runner awaits it"
    )


async def run_in_thread(call: Callable[[], Any]) -> Any:
    """Run a blocking call in a fresh daemon thread and await its result.

    The default `SyncRunner`. A daemon thread is used, not the loop's executor,
    so that a hook that never returns cannot keep the event loop or the process
    from closing after the runner stopped waiting for it.
    """
    import asyncio

    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    ctx = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def target() -> None:
        try:
            result = ctx.run(call)
        except BaseException as exc:
            outcome: tuple[bool, Any] = (False, exc)
        else:
            outcome = (True, result)
        # RuntimeError: the loop closed while the hook ran, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    try:
        threading.Thread(target=target, name="asgi-lifecycle-hook", daemon=True).start()
    except RuntimeError:
        # The interpreter is shutting down (an atexit shutdown) and starts no new thread:
        # run the hook here, on the loop's thread; nothing else runs on the loop by then.
        future.cancel()
        return ctx.run(call)
    return await future


async def call_hook(hook: Hook, context: LifespanContext, sync_runner: SyncRunner) -> None:
    """Call a start or shutdown hook once."""
    args = (context,) if hook.takes_context else ()
    if hook.is_async:
        await hook.func(*args)
        return
    value = await sync_runner(functools.partial(hook.func, *args))
    if inspect.isawaitable(value):
        raise _coroutine_from_sync(hook, value)


class Active:
    """A resource whose setup finished: knows how to run its teardown once."""

    __slots__ = ("_hook", "_kind", "_obj", "_runner")

    def __init__(self, hook: Hook, kind: str, obj: Any, runner: SyncRunner) -> None:
        self._hook = hook
        self._kind = kind
        self._obj = obj
        self._runner = runner

    async def close(self) -> None:
        """Run the teardown (the code after the ``yield``)."""
        hook, obj = self._hook, self._obj
        if self._kind == "agen":
            try:
                await obj.__anext__()
            except StopAsyncIteration:
                return
            await obj.aclose()
            raise _yielded_twice(hook)
        if self._kind == "gen":

            def finish() -> None:
                try:
                    next(obj)
                except StopIteration:
                    return
                obj.close()
                raise _yielded_twice(hook)

            await self._runner(finish)
        elif self._kind == "acm":
            await obj.__aexit__(None, None, None)
        else:
            await self._runner(lambda: obj.__exit__(None, None, None))


def _yielded_twice(hook: Hook) -> HookRegistrationError:
    return HookRegistrationError(
        f"resource {hook.name!r} ({hook.source}) yielded more than once; a resource "
        f"yields exactly once: setup before the yield, teardown after it"
    )


def _never_yielded(hook: Hook) -> HookRegistrationError:
    return HookRegistrationError(
        f"resource {hook.name!r} ({hook.source}) returned without yielding; a resource "
        f"yields exactly once (yield None if it publishes nothing)"
    )


async def setup_resource(
    hook: Hook, context: LifespanContext, sync_runner: SyncRunner
) -> tuple[Any, Active]:
    """Run a resource's setup; return the yielded value and its pending teardown."""
    args = (context,) if hook.takes_context else ()
    if hook.is_async:
        obj = hook.func(*args)
        if hasattr(obj, "__anext__"):
            try:
                value = await obj.__anext__()
            except StopAsyncIteration:
                raise _never_yielded(hook) from None
            return value, Active(hook, "agen", obj, sync_runner)
        value = await obj.__aenter__()
        return value, Active(hook, "acm", obj, sync_runner)

    def enter() -> tuple[Any, str, Any]:
        obj = hook.func(*args)
        if hasattr(obj, "__anext__") or hasattr(obj, "__aenter__"):
            raise HookRegistrationError(
                f"resource {hook.name!r} ({hook.source}) returned an async object from a "
                f"plain function; declare it with 'async def'"
            )
        if hasattr(obj, "__next__"):
            try:
                return next(obj), "gen", obj
            except StopIteration:
                raise _never_yielded(hook) from None
        return obj.__enter__(), "cm", obj

    value, kind, obj = await sync_runner(enter)
    return value, Active(hook, kind, obj, sync_runner)
