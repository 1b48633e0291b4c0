"""``manage.py lifecycle plan|check``, ``manage.py check``, and commands that opt in."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from ._support import PROJECT, project_env, run_manage
from .conftest import Project


def manage(project: Project, *args: str, **env: str) -> tuple[int, str]:
    return run_manage(project.env(**env), project.out("manage"), *args)


def plan_names(output: str) -> list[str]:
    return re.findall(r"^\s*\S+\s+(?:start|setup|stop|teardown)\s+(\S+)", output, re.MULTILINE)


def test_lifecycle_plan_prints_the_ordered_hooks(project: Project) -> None:
    """``lifecycle plan`` prints the startup order and the shutdown order, running nothing."""
    status, output = manage(project, "lifecycle", "plan")
    assert status == 0, output
    assert "service type 'app', environment 'test'" in output
    startup, _, shutdown = output.partition("Shutdown")
    assert plan_names(startup) == [
        "djl_site.lifecycle.announce",
        "djl_shop.lifecycle.seed",
        "djl_shop.lifecycle.catalog",
        "djl_shop.lifecycle.count_async",
        "djl_site.maybe_fail",
        "asgi_lifecycle_django.lifespan_managers",
        "asgi_lifecycle_django.asgi_startup",
        "asgi_lifecycle_django.close_startup_connections",
    ]
    assert plan_names(shutdown) == [
        "asgi_lifecycle_django.asgi_shutdown",
        "asgi_lifecycle_django.lifespan_managers",
        "djl_shop.lifecycle.catalog",
        "djl_shop.lifecycle.farewell",
        "djl_site.lifecycle.goodbye",
        "asgi_lifecycle_django.close_shutdown_connections",
    ]
    assert "lifecycle.py:" in output  # where each hook is defined
    assert not project.log.exists()


def test_lifecycle_plan_filters_by_service_type_and_environment(project: Project) -> None:
    """``--service-type`` and ``--environment`` choose the run that is planned."""
    status, output = manage(
        project, "lifecycle", "plan", "--service-type", "worker", "--environment", "prod"
    )
    assert status == 0, output
    assert "service type 'worker', environment 'prod'" in output
    assert "djl_shop.lifecycle.only_in_app_production" not in output
    status, output = manage(
        project, "lifecycle", "plan", "--service-type", "app", "--environment", "production"
    )
    assert status == 0, output
    assert "djl_shop.lifecycle.only_in_app_production" in output


def test_lifecycle_check_passes(project: Project) -> None:
    """``lifecycle check`` runs a full startup and shutdown and exits 0 when all is well."""
    status, output = manage(project, "lifecycle", "check")
    assert status == 0, output
    assert "startup: ok" in output
    assert "shutdown: ok" in output
    assert "lifecycle check passed" in output
    events = [event for _, event in project.events()]
    assert (events[0], events[-1]) == ("start app test", "stop app test")


def test_lifecycle_check_fails_with_the_report(project: Project) -> None:
    """``lifecycle check`` exits non-zero and prints the report when a hook fails."""
    status, output = manage(project, "lifecycle", "check", DJL_FAIL_STARTUP="no cache")
    assert status == 1, output
    assert "startup: FAILED" in output
    assert re.search(r"djl_site\.maybe_fail\s+start\s+failed", output)
    assert "rollback" in output
    assert "RuntimeError: refusing to start: no cache" in output
    assert "CommandError" in output


def test_lifecycle_check_fails_when_a_shutdown_hook_fails(project: Project) -> None:
    """``lifecycle check`` exits non-zero when a shutdown hook fails, after running the rest."""
    status, output = manage(project, "lifecycle", "check", DJL_FAIL_SHUTDOWN="1")
    assert status == 1, output
    assert "startup: ok" in output
    assert "shutdown: FAILED" in output
    assert "OSError: cannot flush the shop" in output
    assert "djl_shop.lifecycle.farewell (stop failed)" in output
    assert [event for _, event in project.events()][-1] == "stop app test"


def test_manage_check_is_clean(project: Project) -> None:
    """``manage.py check`` finds no issue in the test project."""
    status, output = manage(project, "check")
    assert status == 0, output
    assert "no issues" in output


def test_command_opting_in_runs_the_hooks(project: Project) -> None:
    """A management command using LifecycleCommandMixin runs the hooks around its handle()."""
    status, output = manage(project, "shop_report")
    assert status == 0, output
    assert "report: worker catalog=['seeded'] items=1" in output
    events = [event for _, event in project.events()]
    assert events[0] == "start worker test"
    assert "report ran" in events
    assert events[-1] == "stop worker test"
    assert events.index("start worker test") < events.index("report ran")


def test_other_commands_run_no_hooks(project: Project) -> None:
    """Commands that do not opt in (migrate, check, shell) run no hook."""
    status, output = manage(project, "migrate", "-v0")
    assert status == 0, output
    assert not project.log.exists()


BAD_SETTINGS = {
    "wrong_key": (
        "ASGI_LIFECYCLE = {'SERVICE_TYPE': 'app', 'MODULE': ['djl_site.lifecycle']}",
        ["asgi_lifecycle_django.E002", "unknown key 'MODULE'", "Did you mean 'MODULES'?"],
    ),
    "wrong_type": (
        "ASGI_LIFECYCLE = {'SERVICE_TYPE': 3, 'CONFIG': [1], 'MODULES': 'djl_site.lifecycle'}",
        [
            "asgi_lifecycle_django.E003",
            "['SERVICE_TYPE'] must be a non-empty str, not 3",
            "['CONFIG'] must be a mapping",
            "['MODULES'] must be a list or tuple",
        ],
    ),
    "not_a_dict": (
        "ASGI_LIFECYCLE = ['app']",
        ["asgi_lifecycle_django.E001", "must be a dict, not list"],
    ),
    "module_does_not_import": (
        "ASGI_LIFECYCLE = {'MODULES': ['djl_site.lifecycle', 'djl_site.nope']}",
        [
            "asgi_lifecycle_django.E004",
            "'djl_site.nope', which does not import: ModuleNotFoundError",
        ],
    ),
    "app_module_raises": (
        "INSTALLED_APPS = [*INSTALLED_APPS, 'broken_app']",
        [
            "asgi_lifecycle_django.E005",
            "installed app 'broken_app' names the hook module 'broken_app.lifecycle'",
            "ZeroDivisionError",
            "broken_app/lifecycle.py:2",
        ],
    ),
    "unknown_after": (
        "ASGI_LIFECYCLE = {'MODULES': ['djl_site.lifecycle', 'bad_after']}",
        ["asgi_lifecycle_django.E006", "after= names 'djl_site.lifecycle.anounce'"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_manage_check_reports_bad_settings(project: Project, case: str) -> None:
    """``manage.py check`` reports each kind of bad setting as an error with an id."""
    setting, expected = BAD_SETTINGS[case]
    extra = project.tmp / "extra"
    (extra / "broken_app").mkdir(parents=True)
    (extra / "broken_app" / "__init__.py").write_text("")
    (extra / "broken_app" / "lifecycle.py").write_text("# a hook module with a bug\n1 / 0\n")
    (extra / "bad_after.py").write_text(
        textwrap.dedent(
            """
            from asgi_lifecycle import lifespan

            @lifespan.on_start(after=["djl_site.lifecycle.anounce"])
            def late() -> None:
                pass
            """
        )
    )
    (extra / "bad_settings.py").write_text(f"from djl_site.settings import *\n{setting}\n")
    env = project_env(project.db, project.log, root=PROJECT)
    env["PYTHONPATH"] = f"{extra}:{env['PYTHONPATH']}"
    env["DJANGO_SETTINGS_MODULE"] = "bad_settings"
    status, output = run_manage(env, project.out("check"), "check")
    assert status == 1, output
    assert "SystemCheckError" in output
    for text in expected:
        assert text in output
    # The same errors stop the commands that would run hooks.
    status, output = run_manage(env, project.out("plan"), "lifecycle", "check")
    assert status == 1, output
    assert expected[0] in output


def test_broken_module_stops_uvicorn_import(project: Project, tmp_path: Path) -> None:
    """get_asgi_application raises ImproperlyConfigured when a hook module does not import."""
    (tmp_path / "bad_settings.py").write_text(
        "from djl_site.settings import *\n"
        "ASGI_LIFECYCLE = {'MODULES': ['djl_site.lifecycle', 'djl_site.nope']}\n"
    )
    env = project_env(project.db, project.log)
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    env["DJANGO_SETTINGS_MODULE"] = "bad_settings"
    status, output = run_manage(env, project.out("shell"), "shell", "-c", "import djl_site.asgi")
    assert status == 1, output
    assert "ImproperlyConfigured" in output
    assert "'djl_site.nope'" in output
