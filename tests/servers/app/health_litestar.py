"""The health test app for Litestar: ``LifecyclePlugin(health_path=...)``."""

from __future__ import annotations

from health_hooks import TOKEN, hooks, slow
from litestar import Litestar, get

from asgi_lifecycle_litestar import LifecyclePlugin


@get("/slow", media_type="text/plain")
async def slow_view() -> str:
    """The in-flight request."""
    return await slow()


app = Litestar(
    [slow_view],
    plugins=[LifecyclePlugin(lifespan=hooks, health_path="/health", health_token=TOKEN)],
)
