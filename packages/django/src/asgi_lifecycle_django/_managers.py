"""``register_lifespan_manager``: django-asgi-lifespan's context managers, run as one hook."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from asgi_lifecycle import LifespanContext

__all__ = ("MANAGERS", "register_lifespan_manager", "run_lifespan_managers")

MANAGERS = "asgi_lifecycle_django.lifespan_managers"

_registered: list[Callable[[], AbstractAsyncContextManager[Mapping[str, Any] | None]]] = []


def register_lifespan_manager(
    *, context_manager: Callable[[], AbstractAsyncContextManager[Mapping[str, Any] | None]]
) -> None:
    """Run an async context manager for the lifespan of the app, as django-asgi-lifespan does.

    The drop-in for ``django_asgi_lifespan.register.register_lifespan_manager``:
    call it in an ``AppConfig.ready()``. At startup ``context_manager()`` is
    entered and the mapping it yields is merged into the lifespan state (so
    requests read it as ``request.state[key]`` through `LifecycleMiddleware`); at
    shutdown it is exited. Managers are entered one after the other in the order
    they were registered and exited in reverse; registering the same one again
    does nothing. For new code prefer ``@lifespan.resource(key=...)``: it
    publishes one key and has its own timeout and report line.

    Args:
        context_manager: A function returning an async context manager (an
            ``@asynccontextmanager`` function) that yields a mapping or ``None``.

    Raises:
        TypeError: ``context_manager`` is not a function (a context manager
            object, already made, cannot be entered once per lifespan).
    """
    if not callable(context_manager) or isinstance(context_manager, AbstractAsyncContextManager):
        raise TypeError(
            f"register_lifespan_manager(context_manager=...) needs a function returning an "
            f"async context manager (an @asynccontextmanager function), got {context_manager!r}"
        )
    if context_manager not in _registered:
        _registered.append(context_manager)


def _name(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


@contextlib.asynccontextmanager
async def run_lifespan_managers(context: LifespanContext) -> AsyncIterator[None]:
    """Enter every registered manager, publish what each yields, exit them in reverse."""
    async with contextlib.AsyncExitStack() as stack:
        owners: dict[str, str] = {}
        for factory in list(_registered):
            manager = factory()
            if not isinstance(manager, AbstractAsyncContextManager):
                raise TypeError(
                    f"register_lifespan_manager: {_name(factory)}() returned {manager!r}, not "
                    f"an async context manager; decorate it with @asynccontextmanager"
                )
            state = await stack.enter_async_context(manager)
            if state is None:
                continue
            if not isinstance(state, Mapping):
                raise TypeError(
                    f"register_lifespan_manager: {_name(factory)} yielded {state!r}; it must "
                    f"yield a mapping of state keys (or None)"
                )
            for key, value in state.items():
                if key in context.state:
                    owner = owners.get(key, "another hook")
                    raise RuntimeError(
                        f"register_lifespan_manager: {_name(factory)} yielded the state key "
                        f"{key!r}, which {owner} already published; each key has one owner"
                    )
                owners[key] = _name(factory)
                context.state[key] = value
        yield
