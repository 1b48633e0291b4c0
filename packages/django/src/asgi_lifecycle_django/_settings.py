"""The ``ASGI_LIFECYCLE`` setting: its keys, their types, and the context built from it."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from asgi_lifecycle import LifespanContext

__all__ = (
    "SETTING",
    "LifecycleSettings",
    "Problem",
    "build_context",
    "load_settings",
    "setting_problems",
)

SETTING = "ASGI_LIFECYCLE"

# key -> (description of the expected type, check)
_KEYS: dict[str, tuple[str, Any]] = {
    "SERVICE_TYPE": ("a non-empty str", lambda v: isinstance(v, str) and v != ""),
    "ENVIRONMENT": ("a non-empty str or None", lambda v: v is None or (isinstance(v, str) and v)),
    "CONFIG": ("a mapping (dict)", lambda v: isinstance(v, Mapping)),
    "MODULES": (
        "a list or tuple of dotted module paths (str)",
        lambda v: isinstance(v, list | tuple) and all(isinstance(m, str) and m for m in v),
    ),
    "HEALTH_DETAILS": ("True or False", lambda v: isinstance(v, bool)),
    "HEALTH_TOKEN": (
        "a str of at least 8 characters, or None",
        lambda v: v is None or (isinstance(v, str) and len(v) >= 8),
    ),
}


@dataclass(frozen=True)
class LifecycleSettings:
    """The ``ASGI_LIFECYCLE`` setting with its defaults filled in.

    ``health_details`` and ``health_token`` are those of the health endpoint
    (``asgi_lifecycle_django.urls``): details for everyone, or for requests with
    ``Authorization: Bearer <token>`` (``None``: ``$ASGI_LIFECYCLE_HEALTH_TOKEN``).
    """

    service_type: str = "app"
    environment: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    modules: tuple[str, ...] = ()
    health_details: bool = False
    health_token: str | None = None


@dataclass(frozen=True)
class Problem:
    """One mistake in the setting.

    ``kind`` is ``"type"`` (the setting itself is not a dict), ``"key"`` (an
    unknown key) or ``"value"`` (a known key with a value of the wrong type).
    """

    kind: str
    key: str | None
    message: str
    hint: str


def setting_problems(value: Any) -> list[Problem]:
    """Return every mistake in a value of ``settings.ASGI_LIFECYCLE``."""
    if not isinstance(value, Mapping):
        return [
            Problem(
                "type",
                None,
                f"settings.{SETTING} must be a dict, not {type(value).__name__}.",
                f"Write {SETTING} = {{'SERVICE_TYPE': 'app', 'MODULES': [...]}}.",
            )
        ]
    problems: list[Problem] = []
    for key, item in value.items():
        if key not in _KEYS:
            close = difflib.get_close_matches(str(key), list(_KEYS), n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            problems.append(
                Problem(
                    "key",
                    str(key),
                    f"settings.{SETTING} has an unknown key {key!r}.",
                    f"{hint}The keys are: {', '.join(_KEYS)}.",
                )
            )
            continue
        expected, check = _KEYS[key]
        if not check(item):
            problems.append(
                Problem(
                    "value",
                    key,
                    f"settings.{SETTING}[{key!r}] must be {expected}, not {item!r}.",
                    f"Fix settings.{SETTING}[{key!r}]; see the asgi-lifecycle-django README.",
                )
            )
    return problems


def load_settings() -> LifecycleSettings:
    """Read ``settings.ASGI_LIFECYCLE`` without judging it: bad values fall back to defaults.

    The system checks report the bad values; this keeps `AppConfig.ready` and the
    checks themselves from crashing on them.
    """
    value = getattr(settings, SETTING, None)
    if not isinstance(value, Mapping):
        return LifecycleSettings()
    bad_keys = {p.key for p in setting_problems(value) if p.kind == "value"}
    defaults = LifecycleSettings()
    service_type = value.get("SERVICE_TYPE", defaults.service_type)
    environment = value.get("ENVIRONMENT", defaults.environment)
    config = value.get("CONFIG", defaults.config)
    modules = value.get("MODULES", defaults.modules)
    health_details = value.get("HEALTH_DETAILS", defaults.health_details)
    health_token = value.get("HEALTH_TOKEN", defaults.health_token)
    return LifecycleSettings(
        service_type=defaults.service_type if "SERVICE_TYPE" in bad_keys else service_type,
        environment=defaults.environment if "ENVIRONMENT" in bad_keys else environment,
        config=defaults.config if "CONFIG" in bad_keys else config,
        modules=defaults.modules if "MODULES" in bad_keys else tuple(modules),
        health_details=(
            defaults.health_details if "HEALTH_DETAILS" in bad_keys else health_details
        ),
        health_token=defaults.health_token if "HEALTH_TOKEN" in bad_keys else health_token,
    )


def build_context(
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> LifespanContext:
    """Build a `LifespanContext` from ``settings.ASGI_LIFECYCLE``.

    Args:
        service_type: Overrides ``SERVICE_TYPE`` (default ``"app"``).
        environment: Overrides ``ENVIRONMENT`` (default: ``$ASGI_LIFECYCLE_ENV``,
            then ``"development"``).
        config: Overrides ``CONFIG``.

    Returns:
        A fresh context; hooks receive the run's context.
    """
    current = load_settings()
    return LifespanContext(
        service_type=service_type if service_type is not None else current.service_type,
        environment=environment if environment is not None else current.environment,
        config=config if config is not None else current.config,
    )
