"""The contract suite of asgi-lifecycle adapters, and a lifespan driver for tests.

An adapter's test module subclasses `LifecycleContract` and overrides its
``harness`` fixture with a `Harness` of the adapter; see the package README.
`LifespanManager` runs any ASGI app's lifespan in a test, without a server.
The pytest plugin (``asgi_lifecycle_testing.plugin``) is registered on install.
"""

from __future__ import annotations

import pytest

# Before the import below, so that the contract's asserts show full diffs also when
# the package is installed in a way pytest does not rewrite by itself (editable).
pytest.register_assert_rewrite("asgi_lifecycle_testing._contract")

from ._asgi import ASGIHarness, ASGIRunning, Probe, ReferenceHarness  # noqa: E402
from ._capabilities import Capabilities  # noqa: E402
from ._contract import LifecycleContract  # noqa: E402
from ._harness import (  # noqa: E402
    Harness,
    HealthAnswer,
    NativeFailure,
    NativeShutdownFailure,
    NativeStartupFailure,
    Observation,
    Running,
    Settings,
)
from ._manager import (  # noqa: E402
    LifespanManager,
    LifespanNotSupported,
    LifespanProtocolError,
    LifespanShutdownFailed,
    LifespanStartupFailed,
)
from ._recorder import LifecycleRecorder  # noqa: E402

__version__ = "0.1.0"

__all__ = (
    "ASGIHarness",
    "ASGIRunning",
    "Capabilities",
    "Harness",
    "HealthAnswer",
    "LifecycleContract",
    "LifecycleRecorder",
    "LifespanManager",
    "LifespanNotSupported",
    "LifespanProtocolError",
    "LifespanShutdownFailed",
    "LifespanStartupFailed",
    "NativeFailure",
    "NativeShutdownFailure",
    "NativeStartupFailure",
    "Observation",
    "Probe",
    "ReferenceHarness",
    "Running",
    "Settings",
    "__version__",
)

# Public names report the public module, so that reprs and docs say asgi_lifecycle_testing.X.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj
