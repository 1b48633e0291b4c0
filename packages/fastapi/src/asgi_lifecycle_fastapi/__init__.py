"""FastAPI and Starlette adapter of asgi-lifecycle: the hooks run in the app's lifespan.

::

    from fastapi import FastAPI, Request
    from asgi_lifecycle_fastapi import LifecycleContext, lifespan

    app = FastAPI(lifespan=lifespan(service_type="api"))

    @app.get("/items")
    async def items(request: Request, context: LifecycleContext):
        pool = request.state.database  # published by a @lifespan.resource hook

``app.include_router(health_router())`` answers health probes under ``/health``.

Everything but `LifecycleContext` and `health_router` work for a plain Starlette app as well.
"""

from __future__ import annotations

from ._client import LifespanClient
from ._context import LifecycleContext, get_context
from ._health import health_router
from ._lifespan import AppLifespan, LifecycleLifespan, install, lifespan

__version__ = "0.1.0"

__all__ = (
    "AppLifespan",
    "LifecycleContext",
    "LifecycleLifespan",
    "LifespanClient",
    "__version__",
    "get_context",
    "health_router",
    "install",
    "lifespan",
)

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
