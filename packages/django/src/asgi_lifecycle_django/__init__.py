"""Django adapter for asgi-lifecycle: the hooks run under ASGI, WSGI, commands and tests.

- `get_asgi_application` / `LifecycleASGIHandler`: Django's ASGI handler with the
  lifespan protocol (``asgi.py``).
- `get_wsgi_application` / `LifecycleWSGIHandler`: the hooks once per WSGI process
  (``wsgi.py``, ``runserver``, gunicorn sync workers).
- `LifecycleMiddleware`: ``request.state`` and ``request.lifecycle``.
- `asgi_startup`, `asgi_shutdown`: signals sent at startup and shutdown.
- `register_lifespan_manager`: django-asgi-lifespan's context managers, unchanged.
- `run_lifecycle`, `LifecycleCommandMixin`: the hooks around commands and scripts.
- `build_context`: the `LifespanContext` that ``settings.ASGI_LIFECYCLE`` describes.
- ``asgi_lifecycle_django.testing``: test clients that run the lifespan.

Add ``"asgi_lifecycle_django"`` to ``INSTALLED_APPS``: it imports each installed
app's ``lifecycle`` module (and those in ``ASGI_LIFECYCLE["MODULES"]``) when Django
is ready, and checks the settings (``manage.py check``).
"""

from __future__ import annotations

from ._asgi import LifecycleASGIHandler, get_asgi_application
from ._commands import LifecycleCommandMixin, run_lifecycle
from ._managers import register_lifespan_manager
from ._middleware import LifecycleMiddleware
from ._settings import build_context
from ._signals import asgi_shutdown, asgi_startup
from ._wsgi import LifecycleWSGIHandler, get_wsgi_application

__version__ = "0.1.0"

__all__ = (
    "LifecycleASGIHandler",
    "LifecycleCommandMixin",
    "LifecycleMiddleware",
    "LifecycleWSGIHandler",
    "__version__",
    "asgi_shutdown",
    "asgi_startup",
    "build_context",
    "get_asgi_application",
    "get_wsgi_application",
    "register_lifespan_manager",
    "run_lifecycle",
)
