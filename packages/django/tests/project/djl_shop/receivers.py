"""Receivers of the asgi_startup/asgi_shutdown signals, as django-asgi-lifespan users have."""

import os
from typing import Any

from django.dispatch import receiver
from djl_site.record import record

from asgi_lifecycle_django import asgi_shutdown, asgi_startup


@receiver(asgi_startup)
def on_startup_sync(sender: Any, **kwargs: Any) -> None:
    """A sync receiver: writes to the lifespan scope's state, like old receivers do."""
    if kwargs["context"].service_type == "app":
        kwargs["scope"]["state"]["signal"] = "from asgi_startup"
    if os.environ.get("DJL_FAIL_SIGNAL"):
        raise RuntimeError("asgi_startup receiver refuses")
    record("signal startup sync")


@receiver(asgi_startup)
async def on_startup_async(sender: Any, **kwargs: Any) -> None:
    """An async receiver."""
    record(f"signal startup async {kwargs['context'].service_type}")


@receiver(asgi_shutdown)
async def on_shutdown_async(sender: Any, **kwargs: Any) -> None:
    """An async receiver at shutdown."""
    record("signal shutdown async")


@receiver(asgi_shutdown)
def on_shutdown_sync(sender: Any, **kwargs: Any) -> None:
    """A sync receiver at shutdown."""
    record("signal shutdown sync")
