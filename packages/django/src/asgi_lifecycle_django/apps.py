"""The Django app: imports the hook modules and registers the system checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

from ._checks import TAG, check_settings
from ._discovery import discover

__all__ = ("AsgiLifecycleConfig",)


class AsgiLifecycleConfig(AppConfig):
    """Imports each installed app's ``lifecycle`` module and those in ``MODULES``.

    Nothing runs here but imports: `ready` runs in every process, ``migrate`` and
    ``shell`` included, so hooks run only where a server, a command or a test
    starts them.
    """

    name = "asgi_lifecycle_django"
    label = "asgi_lifecycle_django"
    verbose_name = "ASGI lifecycle"

    def ready(self) -> None:
        """Import the hook modules and register the system checks (no I/O)."""
        discover()
        checks.register(check_settings, TAG)
