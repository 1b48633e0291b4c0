"""The health test app for Django: settings and URLs (``health/`` includes the adapter's)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from health_hooks import TOKEN, slow

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only-not-secret",
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["asgi_lifecycle_django"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    DATABASES={},
    ASGI_LIFECYCLE={"HEALTH_TOKEN": TOKEN},
)


async def slow_view(request: HttpRequest) -> HttpResponse:
    """The in-flight request."""
    return HttpResponse(await slow(), content_type="text/plain")


urlpatterns = [
    path("health/", include("asgi_lifecycle_django.urls")),
    path("slow", slow_view),
]
