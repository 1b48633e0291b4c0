"""``manage.py lifecycle plan|check|run|health|analyze``, ``manage.py check``, opt-in commands."""

from __future__ import annotations

import json
import re
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ._support import PROJECT, project_env, run_manage
from .conftest import Project


def manage(project: Project, *args: str, **env: str) -> tuple[int, str]:
    return run_manage(project.env(**env), project.out("manage"), *args)


def plan_hooks(output: str) -> list[tuple[str, str]]:
    """The ``(kind, name)`` of each hook line of the core command's plan, in start order."""
    pattern = r"^\s*\d+\. phase \S+\s+(start|resource|shutdown)\s+(\S+)"
    return re.findall(pattern, output, re.MULTILINE)


def startup_names(output: str) -> list[str]:
    return [name for kind, name in plan_hooks(output) if kind != "shutdown"]


def shutdown_names(output: str) -> list[str]:
    return [name for kind, name in reversed(plan_hooks(output)) if kind != "start"]


def test_lifecycle_plan_prints_the_ordered_hooks(project: Project) -> None:
    """``lifecycle plan`` prints the hooks in start order (shutdown: reverse), running nothing."""
    status, output = manage(project, "lifecycle", "plan")
    assert status == 0, output
    assert "for service type 'app' (test), in start order" in output
    assert startup_names(output) == [
        "djl_site.lifecycle.announce",
        "djl_shop.lifecycle.seed",
        "djl_shop.lifecycle.catalog",
        "djl_shop.lifecycle.count_async",
        "djl_site.maybe_fail",
        "asgi_lifecycle_django.lifespan_managers",
        "asgi_lifecycle_django.asgi_startup",
        "asgi_lifecycle_django.close_startup_connections",
    ]
    assert shutdown_names(output) == [
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
    assert "for service type 'worker' (prod)" in output
    assert "djl_shop.lifecycle.only_in_app_production" not in output
    status, output = manage(
        project, "lifecycle", "plan", "--service-type", "app", "--environment", "production"
    )
    assert status == 0, output
    assert "djl_shop.lifecycle.only_in_app_production" in output


def test_lifecycle_plan_is_the_core_commands_plan(project: Project) -> None:
    """``lifecycle plan --format json`` prints the core command's document for Django's run."""
    status, output = manage(project, "lifecycle", "plan", "--format", "json")
    assert status == 0, output
    plan = json.loads(output)
    assert (plan["service_type"], plan["environment"]) == ("app", "test")
    assert plan["config_file"] is None
    assert plan["hooks"][1]["name"] == "djl_site.lifecycle.announce"
    assert plan["hooks"][1]["source"].endswith("djl_site/lifecycle.py:9")


def test_lifecycle_check_validates_without_running_hooks(project: Project) -> None:
    """``lifecycle check`` validates the modules, hooks and configuration and runs no hook."""
    status, output = manage(project, "lifecycle", "check")
    assert status == 0, output
    assert "manage.py lifecycle check: ok: 13 hook(s) and 0 health check(s)" in output
    assert "startup" not in output
    assert not project.log.exists()


def test_lifecycle_check_names_an_unorderable_hook_for_each_service_type(
    project: Project, tmp_path: Path
) -> None:
    """``lifecycle check`` exits 1 naming a dangling after= of a hook module, running nothing."""
    (tmp_path / "late_hooks.py").write_text(
        "from asgi_lifecycle import lifespan\n\n"
        "@lifespan.on_start(service_types='worker', after='djl_shop.lifecycle.sed')\n"
        "def late():\n    pass\n",
        encoding="utf-8",
    )
    env = project.env()
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    status, output = run_manage(
        env, project.out("check"), "lifecycle", "check", "--module", "late_hooks"
    )
    assert status == 1, output
    assert "manage.py lifecycle: error: " in output
    assert "after= names 'djl_shop.lifecycle.sed'" in output
    assert "(service type 'worker')" in output
    assert not project.log.exists()


def test_lifecycle_check_run_passes(project: Project) -> None:
    """``lifecycle check --run`` runs a full startup and shutdown and exits 0 when all is well."""
    status, output = manage(project, "lifecycle", "check", "--run")
    assert status == 0, output
    assert "startup: ok" in output
    assert "shutdown: ok" in output
    assert "lifecycle check passed" in output
    events = [event for _, event in project.events()]
    assert (events[0], events[-1]) == ("start app test", "stop app test")


def test_lifecycle_check_run_fails_with_the_report(project: Project) -> None:
    """``lifecycle check --run`` exits non-zero and prints the report when a hook fails."""
    status, output = manage(project, "lifecycle", "check", "--run", DJL_FAIL_STARTUP="no cache")
    assert status == 1, output
    assert "startup: FAILED" in output
    assert re.search(r"djl_site\.maybe_fail\s+start\s+failed", output)
    assert "rollback" in output
    assert "RuntimeError: refusing to start: no cache" in output
    assert "1 hook(s) failed: djl_site.maybe_fail (start failed)" in output
    assert "CommandError" in output


def test_lifecycle_check_run_fails_when_a_shutdown_hook_fails(project: Project) -> None:
    """``lifecycle check --run`` exits non-zero when a shutdown hook fails, after the rest ran."""
    status, output = manage(project, "lifecycle", "check", "--run", DJL_FAIL_SHUTDOWN="1")
    assert status == 1, output
    assert "startup: ok" in output
    assert "shutdown: FAILED" in output
    assert "OSError: cannot flush the shop" in output
    assert "djl_shop.lifecycle.farewell (stop failed)" in output
    assert [event for _, event in project.events()][-1] == "stop app test"


def test_lifecycle_run_runs_a_command_between_startup_and_shutdown(project: Project) -> None:
    """``lifecycle run -- COMMAND`` runs between startup and shutdown, keeping its status."""
    code = (
        "import os; open(os.environ['DJL_LOG'], 'a').write(f'{os.getpid()} job\\n'); "
        "raise SystemExit(3)"
    )
    status, output = manage(project, "lifecycle", "run", "--", sys.executable, "-c", code)
    assert status == 3, output
    events = [event for _, event in project.events()]
    assert events[0] == "start app test"
    assert events.index("job") > events.index("signal startup async app")
    assert events[-1] == "stop app test"


def test_lifecycle_health_and_analyze(project: Project) -> None:
    """``lifecycle health`` prints the readiness JSON; ``analyze`` writes the SVG timeline."""
    status, output = manage(project, "lifecycle", "health")
    assert status == 0, output
    report = json.loads(next(line for line in output.splitlines() if line.startswith("{")))
    assert report["status"] == "pass"
    svg = project.tmp / "timeline.svg"
    status, output = manage(project, "lifecycle", "analyze", "--svg", str(svg))
    assert status == 0, output
    assert "djl_shop.lifecycle.seed" in output
    assert ET.parse(svg).getroot().tag.endswith("svg")


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
