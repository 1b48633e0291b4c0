"""Celery adapter for asgi-lifecycle: the same hooks in every worker and beat process.

Call `install` once, in the module that defines the Celery app::

    app = Celery("proj")
    asgi_lifecycle_celery.install(app)

The hooks then run where the tasks run (in every prefork pool child, in the one
process of a solo, threads, gevent or eventlet worker, in beat), each process
keeps one event loop from startup to shutdown, and tasks reach that loop with
`run` and the published state with `current_context`.
"""

from __future__ import annotations

from ._install import in_process, install
from ._process import current_context, run

__version__ = "0.1.0"

__all__ = (
    "__version__",
    "current_context",
    "in_process",
    "install",
    "run",
)
