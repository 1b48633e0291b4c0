"""Types of the ASGI interface and of the seams asgi-lifecycle offers.

The lifespan messages are typed one `TypedDict` each, after the ASGI lifespan
specification 2.0.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal, TypedDict

from ._calling import SyncRunner

__all__ = (
    "ASGIApp",
    "AnyASGIApp",
    "LifespanShutdownCompleteEvent",
    "LifespanShutdownEvent",
    "LifespanShutdownFailedEvent",
    "LifespanStartupCompleteEvent",
    "LifespanStartupEvent",
    "LifespanStartupFailedEvent",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "SyncRunner",
)

Scope = MutableMapping[str, Any]
"""An ASGI connection scope."""
Message = MutableMapping[str, Any]
"""An ASGI event, received or sent."""
Receive = Callable[[], Awaitable[Message]]
"""The ASGI ``receive`` callable."""
Send = Callable[[Message], Awaitable[None]]
"""The ASGI ``send`` callable."""
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application."""
AnyASGIApp = Callable[[Any, Any, Any], Awaitable[Any]]
"""An ASGI 3 application as any framework types it (Django, Starlette, Litestar differ)."""


class LifespanStartupEvent(TypedDict):
    """Sent by the server when it is ready to start the application."""

    type: Literal["lifespan.startup"]


class LifespanShutdownEvent(TypedDict):
    """Sent by the server when it has stopped accepting connections."""

    type: Literal["lifespan.shutdown"]


class LifespanStartupCompleteEvent(TypedDict):
    """Sent by the application when its startup finished."""

    type: Literal["lifespan.startup.complete"]


class LifespanStartupFailedEvent(TypedDict):
    """Sent by the application when its startup failed; the server should stop."""

    type: Literal["lifespan.startup.failed"]
    message: str


class LifespanShutdownCompleteEvent(TypedDict):
    """Sent by the application when its shutdown finished."""

    type: Literal["lifespan.shutdown.complete"]


class LifespanShutdownFailedEvent(TypedDict):
    """Sent by the application when its shutdown failed."""

    type: Literal["lifespan.shutdown.failed"]
    message: str
