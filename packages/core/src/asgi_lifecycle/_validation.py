"""Turning a function and its options into a `Hook`, or a clear error at once.

Everything that can be known about one registration by itself is checked here:
the options' names and types, the function's flavour and signature. What needs
the other hooks too (names, ``after=`` edges, cycles) is the registry's job.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import types
from collections.abc import Iterable
from typing import Any

from ._errors import HookRegistrationError
from ._hook import HealthCheck, Hook, HookKind, new_hook

__all__ = (
    "CHECK_OPTIONS",
    "DEFAULT_CHECK_TIMEOUT",
    "OPTIONS",
    "check_options",
    "close_match",
    "describe",
    "make_check",
    "make_hook",
    "registered_at",
    "takes_context",
)

_COMMON = frozenset(
    ("priority", "name", "service_types", "environments", "timeout", "critical", "after")
)
OPTIONS: dict[HookKind, frozenset[str]] = {
    "start": _COMMON,
    "shutdown": _COMMON - {"critical"},
    "resource": _COMMON | {"key", "check"},
}
"""The keyword options each kind of hook takes."""

_FUNCTION = types.FunctionType
_GENERATOR_FLAGS = inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR
_CO_COROUTINE = inspect.CO_COROUTINE
_CO_VARARGS = inspect.CO_VARARGS
_PACKAGE = __name__.rpartition(".")[0] + "."


def close_match(word: str, candidates: Iterable[str]) -> str:
    """A "did you mean" hint; difflib is imported only when a mistake needs one."""
    import difflib

    close = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def registered_at() -> str:
    """``file:line`` of the caller outside asgi_lifecycle: where a registration was made."""
    frame = sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:  # pragma: no cover - the interpreter always has a caller
        return "<unknown location>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def check_options(kind: HookKind, verb: str, options: dict[str, Any]) -> None:
    """Refuse an option the kind of hook does not take, with a close match.

    Raises:
        TypeError: naming the method, the option, and the options it takes.
    """
    allowed = OPTIONS[kind]
    if options.keys() <= allowed:
        return
    option = next(o for o in options if o not in allowed)
    raise TypeError(
        f"lifespan.{verb}() got an unexpected keyword argument {option!r}"
        f"{close_match(option, allowed)} (it takes {', '.join(sorted(allowed))}); "
        f"called at {registered_at()}"
    )


def describe(func: Any) -> str:
    """Return ``file:line`` of a callable's definition, as well as it can be found."""
    if type(func) is _FUNCTION and not hasattr(func, "__wrapped__"):
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


def _is_resource_factory(target: Any) -> bool:
    if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
        return True
    try:
        wrapped = inspect.unwrap(target)
    except ValueError:  # pragma: no cover
        return False
    return wrapped is not target and (
        inspect.isgeneratorfunction(wrapped) or inspect.isasyncgenfunction(wrapped)
    )


def _as_names(value: Any, argument: str, where: tuple[str, str]) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        values: list[Any] = [value]
    elif isinstance(value, Iterable) and not isinstance(value, bytes | dict):
        values = list(value)
    else:
        raise HookRegistrationError(
            f"{_where(where)}: {argument}= must be a string, a collection of strings or None, "
            f"got {type(value).__name__}"
        )
    if not values:
        raise HookRegistrationError(
            f"{_where(where)}: {argument}= is empty, so the hook could never run; "
            f"pass None to run it for all, or name at least one"
        )
    for item in values:
        if not isinstance(item, str) or not item:
            raise HookRegistrationError(
                f"{_where(where)}: {argument}= must hold non-empty strings, got {item!r}"
            )
    return frozenset(str(item) for item in values)


def _after(after: Any, where: tuple[str, str]) -> tuple[str, ...]:
    if isinstance(after, str):
        names: tuple[Any, ...] = (after,)
    elif isinstance(after, Iterable) and not isinstance(after, bytes | dict):
        names = tuple(after)
    else:
        raise HookRegistrationError(
            f"{_where(where)}: after= must be a hook name or a collection of names, got {after!r}"
        )
    for dependency in names:
        if not isinstance(dependency, str) or not dependency:
            raise HookRegistrationError(
                f"{_where(where)}: after= must hold hook names (strings), got {dependency!r}; "
                f"pass the name a hook was registered with"
            )
        if dependency == where[0]:
            raise HookRegistrationError(f"{_where(where)}: after= names the hook itself")
    return names


def _where(where: tuple[str, str]) -> str:
    return f"hook {where[0]!r} ({where[1]})"


def default_name(func: Any) -> str:
    """``module.qualname`` of a function: the name a hook gets when none is given."""
    module = getattr(func, "__module__", None) or "?"
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    return f"{module}.{qualname or repr(func)}"


def make_hook(
    kind: HookKind, verb: str, func: Any, options: dict[str, Any], after: Any, seq: int
) -> Hook:
    """Validate one registration and build its `Hook`.

    Args:
        kind: The kind of hook.
        verb: The method the user called (``on_start``, ``add_resource``...), for errors.
        func: The function registered.
        options: The keyword options given (already checked by `check_options`).
        after: The ``after=`` option, functions in it already resolved to hook names.
        seq: The registration number.

    Raises:
        HookRegistrationError: naming the hook, where it was defined, and the fix.
    """
    plain = type(func) is _FUNCTION and not hasattr(func, "__wrapped__")
    if plain:
        code = func.__code__
        source = f"{code.co_filename}:{code.co_firstlineno}"
    elif not callable(func):
        how = (
            f"pass a def or async def (or use @lifespan.{verb.removeprefix('add_')} as a decorator)"
            if verb.startswith("add_")
            else "use it as a decorator on a def or async def"
        )
        raise HookRegistrationError(
            f"lifespan.{verb}() needs a function, got {func!r} ({type(func).__name__}), "
            f"at {registered_at()}; {how}"
        )
    else:
        source = describe(func)
    if options:
        get = options.get
        name = get("name")
        priority = get("priority", 0)
        timeout = get("timeout")
        critical = get("critical", True)
        service_types = get("service_types")
        environments = get("environments")
    else:
        name = timeout = service_types = environments = None
        priority, critical = 0, True
    if name is None:
        name = f"{func.__module__}.{func.__qualname__}" if plain else default_name(func)
    elif not isinstance(name, str) or not name:
        raise HookRegistrationError(
            f"hook {default_name(func)!r} ({source}): name= must be a non-empty string, "
            f"got {name!r}"
        )
    where = (name, source)  # formatted only for an error

    if type(priority) is not int and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise HookRegistrationError(
            f"{_where(where)}: priority= must be an int (the phase number), got {priority!r}"
        )
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise HookRegistrationError(
                f"{_where(where)}: timeout= must be a number of seconds or None, got {timeout!r}"
            )
        if not timeout > 0:
            raise HookRegistrationError(
                f"{_where(where)}: timeout= must be more than 0 seconds, got {timeout!r}; "
                f"pass None for no limit"
            )
        timeout = float(timeout)
    if critical is not True and critical is not False:
        raise HookRegistrationError(
            f"{_where(where)}: critical= must be True or False, got {critical!r}"
        )
    if after != ():
        after = _after(after, where)
    if service_types is not None:
        service_types = _as_names(service_types, "service_types", where)
    if environments is not None:
        environments = _as_names(environments, "environments", where)

    if plain and kind != "resource" and not code.co_flags & _GENERATOR_FLAGS:
        # A plain function: its code object says what it is, and (usually) how to call it.
        flags = code.co_flags
        positional = code.co_argcount
        if not code.co_kwonlyargcount and positional - len(func.__defaults__ or ()) <= 1:
            context = positional > 0 or bool(flags & _CO_VARARGS)
        else:
            context = takes_context(func, where)
        return new_hook(
            name, kind, func, priority, service_types, environments, timeout,
            critical if kind != "shutdown" else False, after, None, source,
            bool(flags & _CO_COROUTINE), context, seq,
        )  # fmt: skip
    key = options.get("key")
    key_given = False
    check = None
    target = _callable_target(func)
    if kind == "resource":
        if not _is_resource_factory(target):
            raise HookRegistrationError(
                f"{_where(where)}: a resource must be a generator function that yields once "
                f"(setup before the yield, teardown after it), plain or async, or a "
                f"@contextmanager / @asynccontextmanager function; got {func!r}. "
                f"For a plain function use on_start() or on_shutdown()"
            )
        key_given = key is not None
        if key is None:
            key = getattr(func, "__name__", None) or name
        if not isinstance(key, str) or not key:
            raise HookRegistrationError(
                f"{_where(where)}: key= must be a non-empty string, got {key!r}"
            )
        is_async = inspect.isasyncgenfunction(target) or (
            not inspect.isgeneratorfunction(target)
            and inspect.isasyncgenfunction(inspect.unwrap(target))
        )
        check = options.get("check")
        if check is not None and not isinstance(check, str):  # pragma: no cover - internal
            raise HookRegistrationError(f"{_where(where)}: check= must name a health check")
    else:
        if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
            raise HookRegistrationError(
                f"{_where(where)}: is a generator function; register it with lifespan.resource() "
                f"to pair its setup and teardown, or remove the yield"
            )
        is_async = inspect.iscoroutinefunction(target)
    return new_hook(
        name, kind, func, priority, service_types, environments, timeout,
        critical if kind != "shutdown" else False, after, key, source, is_async,
        takes_context(func, where), seq, key_given, check,
    )  # fmt: skip


def takes_context(func: Any, where: tuple[str, str]) -> bool:
    """Whether ``func`` is called with the context (one parameter) or with nothing.

    Args:
        func: The hook's function.
        where: The hook's name and source, for the error.

    Raises:
        HookRegistrationError: it needs more than one argument, or a keyword-only
            argument without a default.
    """
    code = getattr(func, "__code__", None)
    if type(func) is _FUNCTION and code is not None and not hasattr(func, "__wrapped__"):
        # A plain function: its code object answers at a fraction of inspect.signature's cost.
        positional = code.co_argcount
        if not code.co_kwonlyargcount and positional - len(func.__defaults__ or ()) <= 1:
            return positional > 0 or bool(code.co_flags & _CO_VARARGS)
        keyword_defaults = func.__kwdefaults__ or {}
        keyword_only = code.co_varnames[positional : positional + code.co_kwonlyargcount]
        missing = [name for name in keyword_only if name not in keyword_defaults]
        if not missing and positional - len(func.__defaults__ or ()) <= 1:
            return positional > 0 or bool(code.co_flags & _CO_VARARGS)
    return _takes_context_slow(func, where)


def _takes_context_slow(func: Any, where: tuple[str, str]) -> bool:
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
                f"{_where(where)}: needs the keyword argument {parameter.name!r}, but a hook is "
                f"called with no argument or with the context only; give it a default"
            )
    if required > 1:
        raise HookRegistrationError(
            f"{_where(where)}: needs {required} arguments {tuple(signature.parameters)}, but a "
            f"hook takes either no argument or one (the LifespanContext)"
        )
    return positional > 0


CHECK_OPTIONS = frozenset(
    ("name", "resource", "service_types", "environments", "timeout", "critical", "after")
)
"""The keyword options of `Lifespan.health_check`."""
DEFAULT_CHECK_TIMEOUT = 2.0
"""Seconds a health check may take unless it says otherwise."""


def make_check(
    verb: str, func: Any, options: dict[str, Any], after: Any, resource: Hook | None
) -> HealthCheck:
    """Validate one health check registration and build its `HealthCheck`.

    Args:
        verb: The method the user called, for errors.
        func: The check function.
        options: Its keyword options (names already checked).
        after: The ``after=`` option, functions already resolved to hook names.
        resource: The resource whose value it receives, already looked up.

    Raises:
        HookRegistrationError: naming the check, where it was defined, and the fix.
    """
    if not callable(func):
        raise HookRegistrationError(
            f"lifespan.{verb}() needs a function, got {func!r} ({type(func).__name__}), "
            f"at {registered_at()}; a health check is a def or async def returning None "
            f"(or True) when healthy, and raising (or returning False) when not"
        )
    source = describe(func)
    name = options.get("name")
    if name is None:
        name = resource.name if resource is not None else default_name(func)
    elif not isinstance(name, str) or not name:
        raise HookRegistrationError(
            f"health check {default_name(func)!r} ({source}): name= must be a non-empty "
            f"string, got {name!r}"
        )
    where = (name, source)
    label = f"health check {name!r} ({source})"
    timeout = options.get("timeout", DEFAULT_CHECK_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise HookRegistrationError(
            f"{label}: timeout= must be a number of seconds above 0 (a check always has a "
            f"limit, {DEFAULT_CHECK_TIMEOUT:g} s by default), got {timeout!r}"
        )
    critical = options.get("critical", True)
    if critical is not True and critical is not False:
        raise HookRegistrationError(f"{label}: critical= must be True or False, got {critical!r}")
    names = _after(after, where) if after != () else ()
    service_types = options.get("service_types")
    environments = options.get("environments")
    if service_types is None and resource is not None:
        service_types = resource.service_types
    elif service_types is not None:
        service_types = _as_names(service_types, "service_types", where)
    if environments is None and resource is not None:
        environments = resource.environments
    elif environments is not None:
        environments = _as_names(environments, "environments", where)
    target = _callable_target(func)
    if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
        raise HookRegistrationError(
            f"{label}: is a generator function; a health check returns (or raises) once"
        )
    takes = takes_context(func, where)
    return HealthCheck(
        name, func, resource.name if resource is not None else None, service_types,
        environments, float(timeout), critical, names, source,
        inspect.iscoroutinefunction(target), takes,
    )  # fmt: skip
