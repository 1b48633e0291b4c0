"""A management command that opts in to the hooks."""

from typing import Any

from django.core.management.base import BaseCommand
from djl_site.record import record

from asgi_lifecycle_django import LifecycleCommandMixin
from djl_shop.models import Item


class Command(LifecycleCommandMixin, BaseCommand):
    """Prints a report using the state the hooks published."""

    help = "Print a report of the shop (runs the worker hooks around it)."
    lifecycle_service_type = "worker"

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the report."""
        assert self.lifecycle is not None
        catalog = self.lifecycle.state.get("catalog")
        names = catalog["names"] if catalog else None
        count = Item.objects.count()
        record("report ran")
        self.stdout.write(f"report: {self.lifecycle.service_type} catalog={names} items={count}")
