"""System checks for ``settings.ASGI_LIFECYCLE`` and the hook modules it names."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from asgi_lifecycle import HookRegistrationError, lifespan

from ._discovery import MODULE_NAME, discovery_errors
from ._settings import SETTING, load_settings, setting_problems

__all__ = ("TAG", "check_settings")

TAG = "asgi_lifecycle"

_IDS = {"type": "E001", "key": "E002", "value": "E003"}


def _id(number: str) -> str:
    return f"asgi_lifecycle_django.{number}"


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Check ``settings.ASGI_LIFECYCLE``, the hook modules, and the order of their hooks.

    Ids: ``E001`` the setting is not a dict; ``E002`` an unknown key; ``E003`` a
    value of the wrong type; ``E004`` a module of ``MODULES`` does not import;
    ``E005`` an installed app's ``lifecycle`` module does not import; ``E006`` the
    hooks of the configured service type cannot be ordered.
    """
    messages: list[CheckMessage] = []
    if hasattr(settings, SETTING):
        for problem in setting_problems(getattr(settings, SETTING)):
            messages.append(Error(problem.message, hint=problem.hint, id=_id(_IDS[problem.kind])))
    for failure in discovery_errors():
        from_modules = failure.origin.startswith("settings.")
        hint = (
            f"Fix the module or remove it from settings.{SETTING}['MODULES']."
            if from_modules
            else f"Fix {failure.module} (apps' {MODULE_NAME}.py modules are imported by "
            "asgi_lifecycle_django when Django is ready)."
        )
        messages.append(
            Error(
                failure.describe(),
                hint=hint,
                id=_id("E004" if from_modules else "E005"),
            )
        )
    current = load_settings()
    try:
        lifespan.plan(current.service_type, current.environment)
    except HookRegistrationError as exc:
        messages.append(
            Error(
                f"The hooks of service type {current.service_type!r} cannot be ordered: {exc}",
                hint="Fix the after= of the hook named above.",
                id=_id("E006"),
            )
        )
    return messages
