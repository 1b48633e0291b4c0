"""Importing the hook modules: each installed app's ``lifecycle`` module, ``MODULES``, the file's.

In this order, each once: the installed apps' ``lifecycle`` modules (in
``INSTALLED_APPS`` order), ``settings.ASGI_LIFECYCLE["MODULES"]``, the ``modules``
of ``[tool.asgi-lifecycle]`` (or ``$ASGI_LIFECYCLE_MODULES``), then the modules of
the ``asgi_lifecycle.modules`` entry point group.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import threading
import traceback
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import module_has_submodule

from asgi_lifecycle import ConfigurationError
from asgi_lifecycle import discover as discover_entry_points

from ._settings import SETTING, load_settings, resolve_settings

__all__ = (
    "DiscoveryError",
    "configuration_problems",
    "discover",
    "discovery_errors",
    "raise_discovery_errors",
)

MODULE_NAME = "lifecycle"
_NOT_USER_CODE = (os.path.dirname(importlib.__file__) + os.sep, __file__)


@dataclass(frozen=True)
class DiscoveryError:
    """A hook module that could not be imported."""

    module: str
    origin: str
    error: BaseException
    where: str

    def describe(self) -> str:
        """One line: which module, where it was named, and why it failed."""
        return (
            f"{self.origin} names the hook module {self.module!r}, which does not import: "
            f"{type(self.error).__name__}: {self.error}{self.where}"
        )


_lock = threading.Lock()
_attempted: dict[str, DiscoveryError | None] = {}
_configuration: list[str] = []  # what is wrong in [tool.asgi-lifecycle] or a variable


def _import(module: str, origin: str) -> None:
    if module in _attempted:
        return
    try:
        import_module(module)
    except Exception as exc:
        # Kept for the system checks and raised again by every entry point that would
        # run hooks, so that `migrate` or `shell` are not broken by a hook module.
        # The innermost frame of the user's code; importlib's and ours say nothing useful.
        frames = [
            frame
            for frame in traceback.extract_tb(exc.__traceback__)
            if not frame.filename.startswith(("<", *_NOT_USER_CODE))
        ]
        where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        _attempted[module] = DiscoveryError(module, origin, exc, where)
    else:
        _attempted[module] = None


def discover() -> None:
    """Import every installed app's ``lifecycle`` module, ``MODULES``, then the file's modules.

    The file's (or ``$ASGI_LIFECYCLE_MODULES``'s) ``modules`` come after
    ``MODULES``, then the ``asgi_lifecycle.modules`` entry points; a module named
    twice is imported once, where it is first named. Failures are recorded, not
    raised: the system checks report them and the entry points raise them (see
    `raise_discovery_errors`), as they do a configuration file or variable that
    is not valid. Repeated calls only import modules that were not tried yet.
    """
    with _lock:
        for app_config in apps.get_app_configs():
            if module_has_submodule(app_config.module, MODULE_NAME):
                _import(f"{app_config.name}.{MODULE_NAME}", f"installed app {app_config.label!r}")
        for module in load_settings().modules:
            _import(module, f"settings.{SETTING}['MODULES']")
        try:
            configured = resolve_settings()
        except ConfigurationError as exc:
            _configuration[:] = exc.problems
            return
        _configuration.clear()
        origin = configured.origins.get("modules", "default")
        named = f"{origin} [tool.asgi-lifecycle] modules" if configured.source == origin else origin
        for module in configured.modules:
            _import(module, named)
        if configured.entry_points:
            try:
                discover_entry_points(dataclasses.replace(configured, modules=()))
            except ConfigurationError as exc:
                _configuration.extend(exc.problems)


def configuration_problems() -> tuple[str, ...]:
    """Return the problems of the configuration file, variables and entry points (`discover`)."""
    with _lock:
        return tuple(_configuration)


def discovery_errors() -> tuple[DiscoveryError, ...]:
    """Return the hook modules that failed to import, in the order they were tried."""
    with _lock:
        return tuple(error for error in _attempted.values() if error is not None)


def raise_discovery_errors() -> None:
    """Raise `ImproperlyConfigured` if a hook module failed to import.

    Raises:
        ImproperlyConfigured: naming every failed module; chained from the first error.
    """
    if not apps.ready:
        raise ImproperlyConfigured(
            "asgi-lifecycle-django needs Django to be set up first: call django.setup(), "
            "or use asgi_lifecycle_django.get_asgi_application() / get_wsgi_application()."
        )
    if not apps.is_installed("asgi_lifecycle_django"):
        raise ImproperlyConfigured(
            "'asgi_lifecycle_django' is not in INSTALLED_APPS, so no app's lifecycle module "
            "was imported and no hook would run: add it to INSTALLED_APPS."
        )
    problems = configuration_problems()
    if problems:
        lines = "\n".join(f"- {problem}" for problem in problems)
        raise ImproperlyConfigured(
            f"asgi-lifecycle: the configuration is not valid, so no hook can run:\n{lines}\n"
            f"(`manage.py check` shows the same.)"
        )
    errors = discovery_errors()
    if errors:
        lines = "\n".join(f"- {error.describe()}" for error in errors)
        raise ImproperlyConfigured(
            f"asgi-lifecycle: {len(errors)} hook module(s) could not be imported, so their "
            f"hooks cannot run:\n{lines}\n(`manage.py check` shows the same.)"
        ) from errors[0].error
