"""A bare ASGI application, given the hooks' startup and shutdown by `LifespanMiddleware`."""

import hooks  # noqa: F401  (importing the module registers its hooks)
from asgi_lifecycle import LifespanMiddleware
from asgi_lifecycle.types import Receive, Scope, Send


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer every HTTP request with the greeting the lifespan published."""
    if scope["type"] != "http":
        return  # the middleware speaks the lifespan protocol; this app only speaks HTTP
    body = scope["state"]["greeting"].encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


app = LifespanMiddleware(hello)
