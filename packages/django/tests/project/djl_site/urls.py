"""URLs of the test project."""

from django.urls import include, path
from djl_shop import views

urlpatterns = [
    path("health/", include("asgi_lifecycle_django.urls")),
    path("items/", views.items),
    path("sync-items/", views.sync_items),
]
