"""The Django health test app under WSGI: the startup runs when the server loads it."""

from __future__ import annotations

import health_django  # noqa: F401 - the settings
from health_hooks import hooks

from asgi_lifecycle_django import get_wsgi_application

application = get_wsgi_application(lifespan=hooks)
