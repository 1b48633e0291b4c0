"""System checks for ``settings.ASGI_LIFECYCLE`` and the hook modules it names."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from asgi_lifecycle import ConfigurationError, HookRegistrationError, lifespan

from ._discovery import MODULE_NAME, configuration_problems, discovery_errors
from ._settings import SETTING, resolve_settings, setting_problems

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
    hooks of the configured service type cannot be ordered; ``E007`` a module named
    by ``[tool.asgi-lifecycle]`` or ``$ASGI_LIFECYCLE_MODULES`` does not import;
    ``E008`` the configuration file, an ``ASGI_LIFECYCLE_*`` variable or an entry
    point module is not valid.
    """
    messages: list[CheckMessage] = []
    if hasattr(settings, SETTING):
        for problem in setting_problems(getattr(settings, SETTING)):
            messages.append(Error(problem.message, hint=problem.hint, id=_id(_IDS[problem.kind])))
    for problem_text in configuration_problems():
        messages.append(
            Error(
                problem_text,
                hint="Fix the file or the variable named above (see the Configuration page).",
                id=_id("E008"),
            )
        )
    for failure in discovery_errors():
        if failure.origin.startswith("settings."):
            hint = f"Fix the module or remove it from settings.{SETTING}['MODULES']."
            number = "E004"
        elif failure.origin.startswith("installed app"):
            hint = (
                f"Fix {failure.module} (apps' {MODULE_NAME}.py modules are imported by "
                "asgi_lifecycle_django when Django is ready)."
            )
            number = "E005"
        else:
            hint = "Fix the module, or remove it from the modules of the file or the variable."
            number = "E007"
        messages.append(Error(failure.describe(), hint=hint, id=_id(number)))
    try:
        current = resolve_settings()
    except ConfigurationError:
        return messages  # reported above (E008)
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
