from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

TIMEOUT = 60

HOOKS = """
from asgi_lifecycle import lifespan

def database_ok(db):
    return db == "db"

@lifespan.resource(priority=-1, timeout=3, check=database_ok)
def database(ctx):
    print("start database", ctx.service_type, ctx.get_config("dsn"), flush=True)
    yield "db"
    print("stop database", flush=True)

@lifespan.on_start(after=database)
async def cache():
    print("start cache", flush=True)

@lifespan.on_start(service_types="worker", critical=False)
def queue():
    print("start queue", flush=True)
"""

JOBS = """
import sys

def nightly(ctx):
    print("job sees", sorted(ctx.state), flush=True)
    return 4

async def pulse():
    print("async job", flush=True)

def crash():
    raise RuntimeError("job failed")
"""


@pytest.fixture
def project(tmp_path: pathlib.Path) -> pathlib.Path:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [project]
            name = "shop"

            [tool.asgi-lifecycle]
            modules = ["hooks"]
            service_type = "api"
            timeout = 5
            config = { dsn = "sqlite://" }

            [tool.asgi-lifecycle.service.worker]
            timeout = 8
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "hooks.py").write_text(textwrap.dedent(HOOKS), encoding="utf-8")
    (tmp_path / "jobs.py").write_text(textwrap.dedent(JOBS), encoding="utf-8")
    return tmp_path


def cli(cwd: pathlib.Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASGI_LIFECYCLE_")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "asgi_lifecycle", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def test_plan_lists_hooks_in_start_order(project: pathlib.Path) -> None:
    """plan prints the hooks in start order with phase, after= edges, timeouts and file:line."""
    done = cli(project, "plan")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("2 hook(s) for service type 'api' (development)")
    assert "per hook 5s" in lines[1]
    assert str(project / "pyproject.toml") in lines[1]
    assert "phase -1" in lines[2]
    assert "resource" in lines[2]
    assert "hooks.database" in lines[2]
    assert "timeout=3s" in lines[2]
    assert f"{project / 'hooks.py'}:7" in lines[2]
    assert "hooks.cache" in lines[3]
    assert "timeout=5s" in lines[3]
    assert "after=hooks.database" in lines[3]
    assert len(lines) == 4


def test_plan_json_for_another_service_type(project: pathlib.Path) -> None:
    """plan --format json --service-type applies that service type's table and hooks."""
    done = cli(
        project, "plan", "--service-type", "worker", "--environment", "prod", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["service_type"] == "worker"
    assert plan["environment"] == "prod"
    assert plan["timeout"] == 8.0
    assert [h["name"] for h in plan["hooks"]] == ["hooks.database", "hooks.cache", "hooks.queue"]
    assert plan["hooks"][1]["after"] == ["hooks.database"]
    assert plan["hooks"][2]["critical"] is False
    assert plan["hooks"][2]["timeout"] == 8.0
    assert plan["hooks"][0]["source"] == f"{project / 'hooks.py'}:7"


def test_plan_environment_variable_beats_the_file(project: pathlib.Path) -> None:
    """An ASGI_LIFECYCLE_* variable wins over the file in the plan."""
    done = cli(project, "plan", "--format", "json", ASGI_LIFECYCLE_SERVICE_TYPE="worker")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["service_type"] == "worker"


def test_check_passes_on_a_good_project(project: pathlib.Path) -> None:
    """check exits 0 and counts the hooks and checks when everything imports and orders."""
    done = cli(project, "check")
    assert done.returncode == 0, done.stderr
    assert "ok: 3 hook(s) and 1 health check(s)" in done.stdout


def test_check_names_each_problem(project: pathlib.Path) -> None:
    """check exits 1 and names each problem: a bad key, a missing module, a dangling after=."""
    (project / "pyproject.toml").write_text(
        '[tool.asgi-lifecycle]\nmodules = ["hooks", "missing_hooks", "late"]\ntimout = 3\n',
        encoding="utf-8",
    )
    done = cli(project, "check")
    assert done.returncode == 1
    assert "unknown key 'timout'; did you mean 'timeout'?" in done.stderr
    assert "1 problem(s)" in done.stderr
    (project / "pyproject.toml").write_text(
        '[tool.asgi-lifecycle]\nmodules = ["hooks", "missing_hooks", "late"]\n', encoding="utf-8"
    )
    (project / "late.py").write_text(
        "from asgi_lifecycle import lifespan\n\n"
        "@lifespan.on_start(after='hooks.databse')\ndef late():\n    pass\n",
        encoding="utf-8",
    )
    done = cli(project, "check")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("asgi-lifecycle: error")]
    assert len(errors) == 2, done.stderr
    assert "'missing_hooks'" in errors[0]
    assert "was not found" in errors[0]
    assert "after= names 'hooks.databse'" in errors[1]
    assert "did you mean 'hooks.database'?" in errors[1]
    assert "(service type 'app', 'worker')" in errors[1]


def test_check_runs_no_hook(project: pathlib.Path) -> None:
    """check validates only: no hook runs without --run."""
    done = cli(project, "check")
    assert done.returncode == 0, done.stderr
    assert "start database" not in done.stdout
    assert "startup" not in done.stdout


def test_check_run_runs_startup_and_shutdown(project: pathlib.Path) -> None:
    """check --run runs a real startup and shutdown and prints both reports."""
    done = cli(project, "check", "--run", "--service-type", "worker")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("asgi-lifecycle check: ok: 3 hook(s)")
    assert "start database worker sqlite://" in lines
    assert "startup: ok" in lines
    assert "shutdown: ok" in lines
    assert lines.index("startup: ok") < lines.index("stop database") < lines.index("shutdown: ok")
    assert lines[-1] == (
        "asgi-lifecycle check passed: the startup and the shutdown of service type 'worker' "
        "(development) ran without a failure"
    )


def test_check_run_names_each_failed_hook_with_its_traceback(project: pathlib.Path) -> None:
    """check --run exits 1 naming every failed hook (non-critical ones too), with tracebacks."""
    (project / "flaky.py").write_text(
        "from asgi_lifecycle import lifespan\n\n"
        "@lifespan.on_start(service_types='worker', critical=False)\n"
        "def warm():\n    raise LookupError('cold cache')\n\n"
        "@lifespan.on_shutdown\n"
        "def flush():\n    raise OSError('disk full')\n",
        encoding="utf-8",
    )
    done = cli(project, "check", "--run", "--service-type", "worker", "--module", "flaky")
    assert done.returncode == 1
    assert "startup: FAILED" in done.stdout
    assert "shutdown: FAILED" in done.stdout
    assert "LookupError: cold cache" in done.stderr
    assert "OSError: disk full" in done.stderr
    assert 'flaky.py", line 5, in warm' in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "asgi-lifecycle: error: check --run: 2 hook(s) failed: flaky.warm (start failed), "
        "flaky.flush (stop failed)"
    )


def test_check_run_reports_the_rollback_of_a_failed_startup(project: pathlib.Path) -> None:
    """check --run prints the startup and rollback reports when a critical hook fails."""
    done = cli(project, "check", "--run", "--module", "boom", ASGI_LIFECYCLE_SERVICE_TYPE="api")
    assert done.returncode == 1
    assert "no module named 'boom'" in done.stderr  # validation comes first: nothing ran
    assert "start database" not in done.stdout
    (project / "boom.py").write_text(
        "from asgi_lifecycle import lifespan\n\n"
        "@lifespan.on_start(after='hooks.database')\n"
        "def boom():\n    raise RuntimeError('no db')\n",
        encoding="utf-8",
    )
    done = cli(project, "check", "--run", "--module", "boom")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert "startup: FAILED" in lines
    assert "rollback: ok" in lines
    assert "stop database" in lines  # the rollback undid the database
    assert "RuntimeError: no db" in done.stderr
    assert "the startup failed and was rolled back; 1 hook(s) failed: boom.boom (start failed)" in (
        done.stderr
    )


def test_run_cli_takes_an_adapters_settings_lifespan_and_streams(project: pathlib.Path) -> None:
    """run_cli works on the Lifespan and settings an adapter gives, writing to its streams."""
    code = textwrap.dedent(
        """
        import io
        from asgi_lifecycle import Lifespan, Settings, run_cli

        own = Lifespan()

        @own.on_start
        def hello(ctx):
            print("hello", ctx.service_type, ctx.environment, dict(ctx.config), flush=True)

        def settings(service_type, environment):
            return Settings(service_type=service_type or "cron", environment="nightly",
                            config={"from": "adapter"})

        out, err = io.StringIO(), io.StringIO()
        status = run_cli(["check", "--run"], prog="adapter lifecycle", settings=settings,
                         lifespan=own, stdout=out, stderr=err)
        print(status, out.getvalue().splitlines()[-1])
        status = run_cli(["plan", "--lifespan", "x:y"], lifespan=own, stderr=err)
        print(status)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "hello cron nightly {'from': 'adapter'}"
    assert lines[1] == (
        "0 adapter lifecycle check passed: the startup and the shutdown of service type "
        "'cron' (nightly) ran without a failure"
    )
    assert lines[2] == "2"  # a given lifespan offers no --lifespan
    assert "unrecognized arguments: --lifespan" in done.stderr


def test_run_function_with_arguments_is_refused(project: pathlib.Path) -> None:
    """run module:function followed by more words says to put options first."""
    done = cli(project, "run", "jobs:nightly", "--service-type", "worker")
    assert done.returncode == 2
    assert "put options such as --service-type before it" in done.stderr


def test_bad_variable_fails_before_any_hook(project: pathlib.Path) -> None:
    """A variable that does not parse stops the command before any hook runs, naming it."""
    done = cli(
        project, "run", "--", sys.executable, "-c", "print('ran')", ASGI_LIFECYCLE_TIMEOUT="x"
    )
    assert done.returncode == 1
    assert "$ASGI_LIFECYCLE_TIMEOUT='x' must be a number of seconds" in done.stderr
    assert "start database" not in done.stdout
    assert "ran" not in done.stdout


def test_run_command_between_startup_and_shutdown(project: pathlib.Path) -> None:
    """run -- COMMAND runs it after the startup and before the shutdown, keeping its exit status."""
    done = cli(project, "run", "--", sys.executable, "-c", "print('command'); raise SystemExit(3)")
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines() == [
        "start database api sqlite://",
        "start cache",
        "command",
        "stop database",
    ]


def test_run_function_receives_the_context(project: pathlib.Path) -> None:
    """run module:function calls it with the context after startup; its int return is the status."""
    done = cli(project, "run", "--service-type", "worker", "jobs:nightly")
    assert done.returncode == 4, done.stderr
    assert done.stdout.splitlines() == [
        "start database worker sqlite://",
        "start cache",
        "start queue",
        "job sees ['database']",
        "stop database",
    ]
    done = cli(project, "run", "jobs:pulse")
    assert done.returncode == 0, done.stderr
    assert "async job" in done.stdout


def test_run_function_that_raises_still_shuts_down(project: pathlib.Path) -> None:
    """A function that raises exits 1 with its traceback, after the shutdown ran."""
    done = cli(project, "run", "jobs:crash")
    assert done.returncode == 1
    assert "RuntimeError: job failed" in done.stderr
    assert done.stdout.splitlines()[-1] == "stop database"


def test_run_unknown_function(project: pathlib.Path) -> None:
    """run module:function names a function the module does not have."""
    done = cli(project, "run", "jobs:weekly")
    assert done.returncode == 1
    assert "module 'jobs' has no function 'weekly'" in done.stderr


def test_run_failed_startup_exits_1(project: pathlib.Path) -> None:
    """A failed startup exits 1 naming the hook, and the command never runs."""
    (project / "boom.py").write_text(
        "from asgi_lifecycle import lifespan\n\n"
        "@lifespan.on_start\ndef boom():\n    raise RuntimeError('no db')\n",
        encoding="utf-8",
    )
    done = cli(project, "run", "--module", "boom", "--", sys.executable, "-c", "print('ran')")
    assert done.returncode == 1
    assert "hook 'boom.boom' raised RuntimeError: no db" in done.stderr
    assert "ran" not in done.stdout


def test_health_prints_the_report(project: pathlib.Path) -> None:
    """health runs the startup, prints the readiness JSON with its checks, and exits 0."""
    done = cli(project, "health")
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("{"))
    report = json.loads(line)
    assert report["status"] == "pass"
    assert report["checks"]["hooks.database:responseTime"][0]["status"] == "pass"


def test_console_script_is_declared() -> None:
    """The core distribution declares the asgi-lifecycle console script."""
    import importlib.metadata

    scripts = importlib.metadata.distribution("asgi-lifecycle").entry_points
    script = [ep for ep in scripts if ep.group == "console_scripts" and ep.name == "asgi-lifecycle"]
    assert [ep.value for ep in script] == ["asgi_lifecycle._cli:main"]
