"""The storefront's pages."""

import os
from html import escape
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from store import Catalogue


def state_of(request: HttpRequest) -> dict[str, Any]:
    """The lifespan state that `LifecycleMiddleware` puts on every request."""
    state: dict[str, Any] = request.state  # type: ignore[attr-defined]
    return state


def whoami(request: HttpRequest) -> JsonResponse:
    """Say which process answers: the run's context is ``request.lifecycle``."""
    context = request.lifecycle  # type: ignore[attr-defined]
    return JsonResponse({"status": "ok", "service_type": context.service_type, "pid": os.getpid()})


def home(request: HttpRequest) -> HttpResponse:
    """The shop window: every product, from the catalogue the hooks loaded."""
    catalogue: Catalogue = state_of(request)["catalogue"]
    items = "".join(
        f"<li>{escape(p.name)}: {p.price_cents / 100:.2f} EUR</li>" for p in catalogue.products
    )
    return HttpResponse(f"<!doctype html><title>Shop</title><h1>Shop</h1><ul>{items}</ul>")


urlpatterns = [
    path("", home),
    path("whoami", whoami),
    path("health/", include("asgi_lifecycle_django.urls")),  # health/ready and health/live
]
