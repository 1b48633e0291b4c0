"""The Django health test app under ASGI."""

from __future__ import annotations

import health_django  # noqa: F401 - the settings
from health_hooks import hooks

from asgi_lifecycle_django import get_asgi_application

application = get_asgi_application(lifespan=hooks)
