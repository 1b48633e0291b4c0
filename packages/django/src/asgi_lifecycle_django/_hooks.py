"""The adapter's own hooks: the signals, and closing the database connections of a phase.

They are ordinary hooks, so they run in the order, with the failure handling and
in the reports of every run: ASGI, WSGI, management commands and tests alike.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import connections

from asgi_lifecycle import Lifespan, LifespanContext, run_in_thread
from asgi_lifecycle.types import SyncRunner

from ._managers import MANAGERS, run_lifespan_managers
from ._signals import asgi_shutdown, asgi_startup, send

if TYPE_CHECKING:
    from django.dispatch import Signal

logger = logging.getLogger("asgi_lifecycle.django")

__all__ = ("FIRST", "LAST", "install", "sync_runner")

# Above any priority a project uses: the startup signal goes after every hook, the shutdown
# signal before every hook; connections are closed at the very end of each phase.
LAST = sys.maxsize
FIRST = -sys.maxsize - 1

STARTUP_SIGNAL = "asgi_lifecycle_django.asgi_startup"
SHUTDOWN_SIGNAL = "asgi_lifecycle_django.asgi_shutdown"
CLOSE_AFTER_STARTUP = "asgi_lifecycle_django.close_startup_connections"
CLOSE_AFTER_SHUTDOWN = "asgi_lifecycle_django.close_shutdown_connections"


class _SyncRunner:
    """Runs sync hooks through asgiref, ``thread_sensitive=True``, so that the ORM works.

    asgiref runs every thread-sensitive call on one thread, so a sync hook that
    timed out and still runs would hold every later sync hook (the rollback
    included) forever. While one does, later sync hooks run on a thread of their
    own instead, with a warning: they still run, on another database connection.
    """

    def __init__(self) -> None:
        self._stuck: list[threading.Event] = []

    async def __call__(self, func: Callable[[], Any]) -> Any:
        self._stuck = [done for done in self._stuck if not done.is_set()]
        if self._stuck:
            logger.warning(
                "asgi-lifecycle-django: a sync hook that timed out still holds asgiref's "
                "thread-sensitive thread, so %r runs on a thread of its own (and its own "
                "database connection)",
                getattr(func, "__qualname__", func),
            )
            return await run_in_thread(func)
        done = threading.Event()

        def call() -> Any:
            try:
                return func()
            finally:
                done.set()

        try:
            return await sync_to_async(call, thread_sensitive=True)()
        except asyncio.CancelledError:
            if not done.is_set():
                self._stuck.append(done)
            raise


sync_runner: SyncRunner = _SyncRunner()
"""Run a sync hook through asgiref, ``thread_sensitive=True``, so that the ORM works."""


def _lifespan_scope(context: LifespanContext) -> dict[str, Any]:
    # What django-asgi-lifespan receivers read: they may write to scope["state"], which
    # is the context's state, published to requests.
    return {"type": "lifespan", "asgi": {"version": "3.0"}, "state": context.state}


async def _send(signal: Signal, context: LifespanContext) -> None:
    errors = await send(
        signal,
        apps.get_app_config("asgi_lifecycle_django"),
        scope=_lifespan_scope(context),
        context=context,
    )
    if errors:
        receiver, error = errors[0]
        name = getattr(receiver, "__qualname__", repr(receiver))
        more = f" (and {len(errors) - 1} more receiver(s) failed)" if len(errors) > 1 else ""
        raise RuntimeError(f"signal receiver {name} raised {error!r}{more}") from error


async def send_asgi_startup(context: LifespanContext) -> None:
    """Send `asgi_startup`."""
    await _send(asgi_startup, context)


async def send_asgi_shutdown(context: LifespanContext) -> None:
    """Send `asgi_shutdown`."""
    await _send(asgi_shutdown, context)


def close_connections() -> None:
    """Close this thread's database connections, except those inside a transaction.

    Sync hooks run in one asgiref thread, whose connections no request's
    ``request_finished`` would ever close. A connection in an atomic block
    (a test's ``TestCase``) is left alone.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def install(lifespan: Lifespan) -> None:
    """Register the adapter's hooks on a `Lifespan`; registering again does nothing."""
    # django-asgi-lifespan's registered context managers (register_lifespan_manager).
    lifespan.add_resource(run_lifespan_managers, name=MANAGERS, priority=LAST)
    lifespan.add_start_hook(send_asgi_startup, name=STARTUP_SIGNAL, priority=LAST)
    lifespan.add_start_hook(
        close_connections, name=CLOSE_AFTER_STARTUP, priority=LAST, after=[STARTUP_SIGNAL]
    )
    lifespan.add_shutdown_hook(send_asgi_shutdown, name=SHUTDOWN_SIGNAL, priority=LAST)
    lifespan.add_shutdown_hook(close_connections, name=CLOSE_AFTER_SHUTDOWN, priority=FIRST)
