"""The health test app for FastAPI: ``health_router``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from health_hooks import TOKEN, hooks, slow

from asgi_lifecycle_fastapi import health_router, lifespan

app = FastAPI(lifespan=lifespan(lifespan=hooks))
app.include_router(health_router(hooks, token=TOKEN))


@app.get("/slow", response_class=PlainTextResponse)
async def slow_view() -> str:
    """The in-flight request."""
    return await slow()
