"""The health test app for the core's `LifespanMiddleware(health_path=...)`."""

from __future__ import annotations

from health_hooks import TOKEN, hooks, slow

from asgi_lifecycle import LifespanMiddleware
from asgi_lifecycle.types import Receive, Scope, Send


async def inner(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve ``/slow``; everything else is 404."""
    if scope["type"] != "http":
        return
    status, body = (200, (await slow()).encode()) if scope["path"] == "/slow" else (404, b"")
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


app = LifespanMiddleware(inner, lifespan=hooks, health_path="/health", health_token=TOKEN)
