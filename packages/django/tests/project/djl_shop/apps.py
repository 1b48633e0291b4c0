"""The shop app."""

from django.apps import AppConfig


class ShopConfig(AppConfig):
    """Connects the signal receivers; no I/O."""

    name = "djl_shop"

    def ready(self) -> None:
        """Import the receivers module, which connects them."""
        from djl_shop import receivers  # noqa: F401
