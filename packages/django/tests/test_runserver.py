"""``manage.py runserver`` (WSGI, no lifespan) with the project's WSGI_APPLICATION."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from ._support import (
    MANAGE,
    PROJECT,
    START_TIMEOUT,
    Process,
    events_of,
    free_port,
    http_get,
    project_env,
)
from .conftest import Project

STARTUP = [
    "start app test",
    "seed",
    "catalog setup",
    "count_async 1",
    "signal startup sync",
    "signal startup async app",
]
SHUTDOWN = [
    "signal shutdown sync",
    "signal shutdown async",
    "catalog teardown",
    "farewell 1",
    "stop app test",
]


def runserver(project: Project, port: int, *extra: str, root: Path = PROJECT) -> Process:
    manage = root / MANAGE.name
    args = [sys.executable, str(manage), "runserver", f"127.0.0.1:{port}", *extra]
    env = project_env(project.db, project.log, root=root)
    return Process(args, env, project.out("runserver"), cwd=root)


def started_pids(project: Project) -> list[int]:
    return [pid for pid, event in project.events() if event == STARTUP[-1]]


def answers(port: int, pid: int) -> None:
    status, body = http_get(port, "/sync-items/")
    assert status == 200, body
    payload = json.loads(body)
    assert payload["pid"] == pid
    assert payload["catalog"] == {"names": ["seeded"], "greeting": "hello from settings"}
    assert payload["signal"] == "from asgi_startup"
    assert (payload["service_type"], payload["environment"]) == ("app", "test")


def test_autoreloader_runs_hooks_in_each_reloaded_process(project: Project) -> None:
    """With the autoreloader, each reloaded child runs the startup, and its shutdown on exit."""
    # A copy of the project, so that the file touched to trigger a reload is not the source.
    root = project.tmp / "project"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns("__pycache__"))
    watched = root / "djl_shop" / "views.py"
    port = free_port()
    with runserver(project, port, root=root) as server:
        server.wait_for("the first startup", lambda: len(started_pids(project)) == 1)
        first = started_pids(project)[0]
        assert first != server.pid  # the hooks run in the reloader's child, not in the parent
        # The hooks run when the application is loaded, just before the socket is bound.
        server.wait_for("the first child serving", lambda: _answers_from(port, first))

        # The reloader compares modification times: move the file's forward until it notices.
        deadline = time.monotonic() + START_TIMEOUT
        bump = 10
        while len(started_pids(project)) < 2:
            assert time.monotonic() < deadline, f"no reload; output:\n{server.output()}"
            os.utime(watched, (time.time() + bump, time.time() + bump))
            bump += 10
            time.sleep(0.5)
        second = started_pids(project)[1]
        assert second != first
        assert events_of(project.log, first) == STARTUP + SHUTDOWN
        server.wait_for("the new child serving", lambda: _answers_from(port, second))

        # SIGTERM to the serving child (Django's reloader turns it into an exit): shutdown runs.
        os.kill(second, signal.SIGTERM)
        assert server.wait() == 0, server.output()
        assert events_of(project.log, second) == STARTUP + SHUTDOWN


def _answers_from(port: int, pid: int) -> bool:
    try:
        answers(port, pid)
    except (AssertionError, OSError):
        return False
    return True


def test_noreload_sigterm_runs_shutdown(project: Project) -> None:
    """Without the autoreloader, SIGTERM to runserver runs the shutdown hooks before it exits."""
    port = free_port()
    with runserver(project, port, "--noreload") as server:
        server.wait_for("the startup", lambda: len(started_pids(project)) == 1)
        assert started_pids(project) == [server.pid]
        server.wait_for("the server answering", lambda: _answers_from(port, server.pid))
        server.popen.send_signal(signal.SIGTERM)
        assert server.wait() == 0, server.output()
        assert events_of(project.log, server.pid) == STARTUP + SHUTDOWN


def test_sigint_runs_shutdown(project: Project) -> None:
    """Ctrl-C (SIGINT) to a --noreload runserver runs the shutdown hooks."""
    port = free_port()
    with runserver(project, port, "--noreload") as server:
        server.wait_for("the startup", lambda: len(started_pids(project)) == 1)
        server.wait_for("the server answering", lambda: _answers_from(port, server.pid))
        server.popen.send_signal(signal.SIGINT)
        assert server.wait() == 0, server.output()
        assert events_of(project.log, server.pid) == STARTUP + SHUTDOWN


def test_health_include_answers_under_runserver(project: Project) -> None:
    """Under runserver the health include answers readiness and liveness of the WSGI run."""
    port = free_port()
    with runserver(project, port, "--noreload") as server:
        server.wait_for("the server answering", lambda: _answers_from(port, server.pid))
        for path in ("/health/", "/health/ready", "/health/live"):
            status, body = http_get(port, path)
            assert status == 200, body
            assert json.loads(body)["status"] == "pass"
        server.popen.send_signal(signal.SIGTERM)
        assert server.wait() == 0, server.output()
