"""Startup and shutdown hooks, written once, run in every process of a Python service.

Register hooks on the process-wide `lifespan` (or a `Lifespan` of your own), then
let an adapter run them at its framework's native moments: `LifespanMiddleware`
for any ASGI app, ``asgi_lifecycle_django``, ``asgi_lifecycle_fastapi``,
``asgi_lifecycle_celery`` and ``asgi_lifecycle_litestar`` for those frameworks,
`Lifespan.run` and `Lifespan.run_blocking` anywhere else.
"""

from __future__ import annotations

from ._blocking import BlockingRunner
from ._calling import run_in_thread
from ._cli import run_cli
from ._config import Settings, discover, load_settings
from ._context import LifespanContext
from ._endpoint import HealthApp, HealthEndpoint, HealthResponse
from ._errors import (
    ConfigurationError,
    HookRegistrationError,
    HookTimeout,
    LifecycleError,
    ShutdownFailed,
    StartupFailed,
    StopRequested,
)
from ._events import CheckResult, LifecycleListener, LifecycleState
from ._health import HealthReport
from ._hook import HealthCheck, Hook, ServiceType
from ._lifespan import Lifespan, lifespan
from ._middleware import LifespanMiddleware
from ._probes import HealthServer
from ._report import HookResult, LifecycleReport

__version__ = "0.1.0"

__all__ = (
    "BlockingRunner",
    "CheckResult",
    "ConfigurationError",
    "HealthApp",
    "HealthCheck",
    "HealthEndpoint",
    "HealthReport",
    "HealthResponse",
    "HealthServer",
    "Hook",
    "HookRegistrationError",
    "HookResult",
    "HookTimeout",
    "LifecycleError",
    "LifecycleListener",
    "LifecycleReport",
    "LifecycleState",
    "Lifespan",
    "LifespanContext",
    "LifespanMiddleware",
    "ServiceType",
    "Settings",
    "ShutdownFailed",
    "StartupFailed",
    "StopRequested",
    "__version__",
    "discover",
    "lifespan",
    "load_settings",
    "run_cli",
    "run_in_thread",
)

# Public names report the public module, so that reprs and docs say asgi_lifecycle.X.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
