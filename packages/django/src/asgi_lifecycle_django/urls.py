"""Health probes as a URL include: ``path("health/", include("asgi_lifecycle_django.urls"))``.

That gives ``health/`` and ``health/ready`` (readiness) and ``health/live``
(liveness), under ASGI (`get_asgi_application`) and WSGI (`get_wsgi_application`,
``runserver``) alike. ``ASGI_LIFECYCLE["HEALTH_DETAILS"]`` and
``ASGI_LIFECYCLE["HEALTH_TOKEN"]`` decide who sees error details; see the
``asgi_lifecycle.HealthEndpoint`` policy they configure.
"""

from __future__ import annotations

from django.urls import URLPattern, path

from ._health import live, ready

__all__ = ("app_name", "urlpatterns")

app_name = "asgi_lifecycle_django"

urlpatterns: list[URLPattern] = [
    path("", ready, name="health"),
    path("ready", ready, name="ready"),
    path("ready/", ready),
    path("live", live, name="live"),
    path("live/", live),
]
