"""URLs of the test project."""

from django.urls import path
from djl_shop import views

urlpatterns = [
    path("items/", views.items),
    path("sync-items/", views.sync_items),
]
