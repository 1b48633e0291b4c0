"""The ``asgi_startup`` and ``asgi_shutdown`` signals, and how they are sent."""

from __future__ import annotations

import inspect
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.dispatch import Signal

__all__ = ("asgi_shutdown", "asgi_startup", "send")

asgi_startup = Signal()
"""Sent after the startup hooks ran, before the server is told that startup is complete.

Receivers get ``sender`` (the handler or command class that runs the lifecycle),
``scope`` (the ASGI lifespan scope, or ``None`` outside ASGI) and ``context``
(the run's `LifespanContext`). Sync receivers run through asgiref with
``thread_sensitive=True``; async receivers are awaited. A receiver that raises
fails the startup.
"""

asgi_shutdown = Signal()
"""Sent at shutdown, before the shutdown hooks run; same arguments as `asgi_startup`.

Every receiver runs even when another raises; failures are reported.
"""

# Django 4.2's send_robust() calls async receivers without awaiting them.
_AWAIT_RESPONSES = django.VERSION < (5, 0)


async def send(signal: Signal, sender: Any, **named: Any) -> list[tuple[Any, Exception]]:
    """Send a signal to its sync and async receivers; return the ``(receiver, error)`` pairs.

    Every receiver runs, even when an earlier one raises.
    """
    if not signal.has_listeners(sender):
        return []
    responses = await sync_to_async(signal.send_robust, thread_sensitive=True)(sender, **named)
    errors: list[tuple[Any, Exception]] = []
    for receiver, response in responses:
        if isinstance(response, Exception):
            errors.append((receiver, response))
        elif _AWAIT_RESPONSES and inspect.isawaitable(response):
            try:
                await response
            except Exception as exc:
                errors.append((receiver, exc))
    return errors
