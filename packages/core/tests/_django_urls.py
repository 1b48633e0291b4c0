"""URLs of the minimal Django project the middleware test serves."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def show_state(request: HttpRequest) -> HttpResponse:
    """Answer with the 'db' value of the ASGI lifespan state."""
    return HttpResponse(request.scope["state"]["db"])  # type: ignore[attr-defined]


urlpatterns = [path("state/", show_state)]
