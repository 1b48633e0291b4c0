"""Startup and shutdown hooks, written once, run in every process of a Python service.

Register hooks on the process-wide `lifespan` (or a `Lifespan` of your own), then
let an adapter run them at its framework's native moments: `LifespanMiddleware`
for any ASGI app, ``asgi_lifecycle_django``, ``asgi_lifecycle_fastapi``,
``asgi_lifecycle_celery`` and ``asgi_lifecycle_litestar`` for those frameworks,
`Lifespan.run` and `Lifespan.run_blocking` anywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._context import LifespanContext
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
from ._hook import HealthCheck, Hook, ServiceType
from ._lifespan import Lifespan, lifespan
from ._report import HookResult, LifecycleReport

if TYPE_CHECKING:
    from ._blocking import BlockingRunner
    from ._calling import run_in_thread
    from ._cli import run_cli
    from ._config import Settings, discover, load_settings
    from ._endpoint import HealthApp, HealthEndpoint, HealthResponse
    from ._health import HealthReport
    from ._middleware import LifespanMiddleware
    from ._probes import HealthServer

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

# Imported at first use (`__getattr__`): a process imports the blocking runner, the
# configuration file, the health endpoints, the middleware or the command only if it uses them.
_LATER = {
    "BlockingRunner": "_blocking",
    "HealthApp": "_endpoint",
    "HealthEndpoint": "_endpoint",
    "HealthReport": "_health",
    "HealthResponse": "_endpoint",
    "HealthServer": "_probes",
    "LifespanMiddleware": "_middleware",
    "Settings": "_config",
    "discover": "_config",
    "load_settings": "_config",
    "run_cli": "_cli",
    "run_in_thread": "_calling",
}


def _public(value: Any) -> Any:
    # Public classes report the public module, so that reprs and docs say asgi_lifecycle.X.
    if isinstance(value, type):
        value.__module__ = __name__
    return value


def __getattr__(name: str) -> Any:
    module = _LATER.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = globals()[name] = _public(getattr(import_module(f"{__name__}.{module}"), name))
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LATER})


for _name in __all__:
    if _name not in _LATER:
        _public(globals()[_name])
del _name
