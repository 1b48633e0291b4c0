"""The ``ASGI_LIFECYCLE`` setting: its keys, their types, and the context built from it.

One precedence for the context and the budgets of every run: an explicit argument,
then ``settings.ASGI_LIFECYCLE``, then the ``ASGI_LIFECYCLE_*`` environment
variables, then ``[tool.asgi-lifecycle]`` in ``pyproject.toml``, then the default
(`resolve_settings`).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from asgi_lifecycle import LifespanContext, Settings
from asgi_lifecycle import load_settings as load_core_settings

__all__ = (
    "SETTING",
    "LifecycleSettings",
    "Problem",
    "build_context",
    "given_settings",
    "load_settings",
    "resolve_settings",
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


def given_settings() -> dict[str, Any]:
    """The keys of ``settings.ASGI_LIFECYCLE`` that are given with a valid value.

    A key left out, or given a value of the wrong type (which the system checks
    report), is not there: the configuration file or the default applies.
    """
    value = getattr(settings, SETTING, None)
    if not isinstance(value, Mapping):
        return {}
    bad_keys = {p.key for p in setting_problems(value) if p.kind == "value"}
    return {key: item for key, item in value.items() if key in _KEYS and key not in bad_keys}


def load_settings() -> LifecycleSettings:
    """Read ``settings.ASGI_LIFECYCLE`` without judging it: bad values fall back to defaults.

    The system checks report the bad values; this keeps `AppConfig.ready` and the
    checks themselves from crashing on them. The configuration file is not read
    here (see `resolve_settings`).
    """
    given = given_settings()
    defaults = LifecycleSettings()
    return LifecycleSettings(
        service_type=given.get("SERVICE_TYPE", defaults.service_type),
        environment=given.get("ENVIRONMENT", defaults.environment),
        config=given.get("CONFIG", defaults.config),
        modules=tuple(given.get("MODULES", defaults.modules)),
        health_details=given.get("HEALTH_DETAILS", defaults.health_details),
        health_token=given.get("HEALTH_TOKEN", defaults.health_token),
    )


def resolve_settings(
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> Settings:
    """The core's `Settings` of a Django run: Django's settings win over the file.

    For ``service_type``, ``environment`` and ``config``: the argument, then
    ``settings.ASGI_LIFECYCLE`` (``SERVICE_TYPE``, ``ENVIRONMENT``, ``CONFIG``),
    then ``ASGI_LIFECYCLE_SERVICE_TYPE`` / ``ASGI_LIFECYCLE_ENV``, then
    ``[tool.asgi-lifecycle]``, then ``"app"`` / ``"development"`` / ``{}``.
    ``CONFIG`` (or the argument) replaces the file's ``config`` as a whole, the
    service type's table included. The budgets, ``concurrent``, ``modules`` and
    ``entry_points`` come from the variables and the file, which Django has no
    setting for; ``MODULES`` and the apps' ``lifecycle`` modules are imported
    by the app (`discover`), the file's ``modules`` after them.

    Returns:
        Settings resolved for their service type (`Settings.for_service`).

    Raises:
        ConfigurationError: the file or a variable is not valid.
    """
    given = given_settings()
    resolved = load_core_settings(
        service_type=service_type if service_type is not None else given.get("SERVICE_TYPE"),
        environment=environment if environment is not None else given.get("ENVIRONMENT"),
    ).for_service()
    origins = dict(resolved.origins)
    for key, argument, name in (
        ("service_type", service_type, "SERVICE_TYPE"),
        ("environment", environment, "ENVIRONMENT"),
    ):
        if argument is None and given.get(name) is not None:
            origins[key] = f"settings.{SETTING}[{name!r}]"
    if config is None and "CONFIG" in given:
        config = given["CONFIG"]
        origins["config"] = f"settings.{SETTING}['CONFIG']"
    elif config is not None:
        origins["config"] = "argument"
    if config is not None:
        resolved = dataclasses.replace(resolved, config=config)
    return dataclasses.replace(resolved, origins=origins)


def build_context(
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> LifespanContext:
    """Build a `LifespanContext` from the arguments, ``settings.ASGI_LIFECYCLE`` and the file.

    Precedence, key by key: the argument, then ``settings.ASGI_LIFECYCLE``, then
    the ``ASGI_LIFECYCLE_*`` variables, then ``[tool.asgi-lifecycle]`` in
    ``pyproject.toml``, then the default.

    Args:
        service_type: Overrides ``SERVICE_TYPE`` (default: the file's
            ``service_type``, then ``"app"``).
        environment: Overrides ``ENVIRONMENT`` (default: ``$ASGI_LIFECYCLE_ENV``,
            then the file's ``environment``, then ``"development"``).
        config: Overrides ``CONFIG`` (default: the file's ``config``).

    Returns:
        A fresh context; hooks receive the run's context.

    Raises:
        ConfigurationError: the file or a variable is not valid.
    """
    resolved = resolve_settings(service_type, environment, config)
    return LifespanContext(resolved.service_type, resolved.environment, resolved.config)
