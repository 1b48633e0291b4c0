"""How a hook's function is called: sync code in a thread, resources entered and closed.

The runner calls async start and shutdown hooks itself (one ``await``); what is
not that simple lives here: the default `SyncRunner`, entering a resource of
any flavour (async or plain generator, async or plain context manager), and
closing it again.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ._errors import HookRegistrationError
from ._hook import Hook

__all__ = (
    "Closer",
    "SyncRunner",
    "call_sync",
    "close_resource",
    "enter_async",
    "enter_sync",
    "never_yielded",
    "run_in_thread",
    "yielded_twice",
)

SyncRunner = Callable[[Callable[[], Any]], Awaitable[Any]]
"""Runs a blocking call off the event loop and awaits its result (see `run_in_thread`)."""

# A resource whose setup finished: how to close it (flavour, the generator or manager).
Closer = tuple[str, Any]


async def run_in_thread(call: Callable[[], Any]) -> Any:
    """Run a blocking call in a fresh daemon thread and await its result.

    The default `SyncRunner`. A daemon thread is used, not the loop's executor,
    so that a hook that never returns cannot keep the event loop or the process
    from closing after the runner stopped waiting for it.
    """
    import asyncio
    import threading

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


async def call_sync(hook: Hook, args: tuple[Any, ...], sync_runner: SyncRunner) -> None:
    """Call a plain start or shutdown hook through the sync runner."""
    func = hook.func
    value = await sync_runner(_named(hook, lambda: func(*args)))
    if inspect.isawaitable(value):
        close = getattr(value, "close", None)
        if callable(close):
            close()  # never awaited: close it so Python does not warn about it
        raise HookRegistrationError(
            f"hook {hook.name!r} ({hook.source}) is a plain function but returned "
            f"{type(value).__name__}; declare it with 'async def' so the runner awaits it"
        )


async def enter_async(hook: Hook, obj: Any) -> tuple[Any, Closer]:
    """Enter what an async resource function returned: an async generator or context manager."""
    if hasattr(obj, "__anext__"):
        try:
            value = await obj.__anext__()
        except StopAsyncIteration:
            raise never_yielded(hook) from None
        return value, ("agen", obj)
    return await obj.__aenter__(), ("acm", obj)


async def enter_sync(
    hook: Hook, args: tuple[Any, ...], sync_runner: SyncRunner
) -> tuple[Any, Closer]:
    """Run a plain resource's setup through the sync runner: a generator or context manager."""

    def enter() -> tuple[Any, Closer]:
        obj = hook.func(*args)
        if hasattr(obj, "__anext__") or hasattr(obj, "__aenter__"):
            raise HookRegistrationError(
                f"resource {hook.name!r} ({hook.source}) returned an async object from a "
                f"plain function; declare it with 'async def'"
            )
        if hasattr(obj, "__next__"):
            try:
                return next(obj), ("gen", obj)
            except StopIteration:
                raise never_yielded(hook) from None
        return obj.__enter__(), ("cm", obj)

    result: tuple[Any, Closer] = await sync_runner(_named(hook, enter))
    return result


async def close_resource(hook: Hook, closer: Closer, sync_runner: SyncRunner) -> None:
    """Run a resource's teardown (the code after its ``yield``) once.

    The runner closes async generators itself; this closes the other flavours.
    """
    flavour, obj = closer
    if flavour == "acm":
        await obj.__aexit__(None, None, None)
    elif flavour == "gen":

        def finish() -> None:
            try:
                next(obj)
            except StopIteration:
                return
            obj.close()
            raise yielded_twice(hook)

        await sync_runner(_named(hook, finish))
    else:
        await sync_runner(_named(hook, lambda: obj.__exit__(None, None, None)))


def _named(hook: Hook, call: Callable[[], Any]) -> Callable[[], Any]:
    """Name the call after its hook, so that a sync runner's messages say which hook it is."""
    call.__name__ = call.__qualname__ = hook.name
    return call


def yielded_twice(hook: Hook) -> HookRegistrationError:
    """The error for a resource whose generator yielded a second time."""
    return HookRegistrationError(
        f"resource {hook.name!r} ({hook.source}) yielded more than once; a resource "
        f"yields exactly once: setup before the yield, teardown after it"
    )


def never_yielded(hook: Hook) -> HookRegistrationError:
    """The error for a resource whose generator ended without yielding."""
    return HookRegistrationError(
        f"resource {hook.name!r} ({hook.source}) returned without yielding; a resource "
        f"yields exactly once (yield None if it publishes nothing)"
    )
