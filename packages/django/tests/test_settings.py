"""Reading and checking settings.ASGI_LIFECYCLE, and the context built from it."""

from __future__ import annotations

import pytest
from django.test import override_settings

from asgi_lifecycle_django import build_context
from asgi_lifecycle_django._checks import check_settings
from asgi_lifecycle_django._settings import load_settings, setting_problems


def test_build_context_reads_the_settings(django_setup: None) -> None:
    """The context has the settings' service type, environment and config."""
    context = build_context()
    assert (context.service_type, context.environment) == ("app", "test")
    assert context.get_config("shop.greeting") == "hello from settings"


def test_build_context_arguments_override(django_setup: None) -> None:
    """Arguments override each setting."""
    context = build_context("worker", "prod", {"x": 1})
    assert (context.service_type, context.environment, dict(context.config)) == (
        "worker",
        "prod",
        {"x": 1},
    )


def test_defaults_without_the_setting(django_setup: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ASGI_LIFECYCLE: service type "app", environment from $ASGI_LIFECYCLE_ENV."""
    monkeypatch.setenv("ASGI_LIFECYCLE_ENV", "qa")
    with override_settings():
        from django.conf import settings

        del settings.ASGI_LIFECYCLE
        context = build_context()
        assert (context.service_type, context.environment, dict(context.config)) == (
            "app",
            "qa",
            {},
        )
        assert check_settings() == []


def test_bad_values_fall_back_to_defaults_and_are_reported(django_setup: None) -> None:
    """A bad value never crashes reading the settings; the checks report it with an id."""
    bad = {"SERVICE_TYPE": "", "ENVIRONMENT": 5, "CONFIG": {"ok": 1}, "EXTRA": 1}
    with override_settings(ASGI_LIFECYCLE=bad):
        current = load_settings()
        assert (current.service_type, current.environment, dict(current.config)) == (
            "app",
            None,
            {"ok": 1},
        )
        ids = sorted(message.id or "" for message in check_settings())
    assert ids == [
        "asgi_lifecycle_django.E002",
        "asgi_lifecycle_django.E003",
        "asgi_lifecycle_django.E003",
    ]


@pytest.mark.parametrize(
    ("value", "kinds"),
    [
        ({}, []),
        ({"SERVICE_TYPE": "worker", "ENVIRONMENT": None, "MODULES": ("a.b",)}, []),
        ("app", ["type"]),
        ({"SERVICE": "app"}, ["key"]),
        ({"MODULES": ["ok", 3]}, ["value"]),
        ({"CONFIG": None}, ["value"]),
        ({"HEALTH_DETAILS": True, "HEALTH_TOKEN": "long-enough-token"}, []),
        ({"HEALTH_DETAILS": "yes"}, ["value"]),
        ({"HEALTH_TOKEN": "short"}, ["value"]),
    ],
)
def test_setting_problems(value: object, kinds: list[str]) -> None:
    """Each kind of mistake is found, and nothing else."""
    assert [problem.kind for problem in setting_problems(value)] == kinds


def test_bad_health_settings_fall_back_to_no_details(django_setup: None) -> None:
    """A bad health setting is reported and read as its safe default: no details, no token."""
    with override_settings(ASGI_LIFECYCLE={"HEALTH_DETAILS": 1, "HEALTH_TOKEN": "short"}):
        current = load_settings()
        assert (current.health_details, current.health_token) == (False, None)
        messages = check_settings()
    assert [message.id for message in messages] == ["asgi_lifecycle_django.E003"] * 2
    assert "at least 8 characters" in str(messages[1].msg)
