"""Litestar adapter of asgi-lifecycle: the hooks run in a Litestar app's lifespan.

::

    from asgi_lifecycle_litestar import LifecycleContext, LifecyclePlugin
    from litestar import Litestar, get
    from litestar.datastructures import State

    @get("/items")
    async def items(state: State, lifecycle_context: LifecycleContext) -> dict[str, str]:
        pool = state.database  # published by a @lifespan.resource hook
        ...

    app = Litestar(route_handlers=[items], plugins=[LifecyclePlugin(service_type="api")])

- `LifecyclePlugin`: the init plugin; published state lands on ``app.state``, and
  the context is injected into parameters named ``lifecycle_context``.
- `LifecycleContext`: the annotation of that parameter (`asgi_lifecycle.LifespanContext`,
  marked as a named dependency where Litestar wants that).
- `get_context`: the running context of an app, for code that is not a handler.
- `LifespanClient`: Litestar's ``TestClient`` / ``AsyncTestClient`` with the
  lifespan run, a startup failure raised plainly and a shutdown failure failing the test.
"""

from __future__ import annotations

from ._client import LifespanClient
from ._plugin import LifecycleContext, LifecyclePlugin, get_context

__version__ = "0.1.0"

__all__ = (
    "LifecycleContext",
    "LifecyclePlugin",
    "LifespanClient",
    "__version__",
    "get_context",
)

# Public names report the public module, so that reprs and docs say asgi_lifecycle_litestar.X.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
