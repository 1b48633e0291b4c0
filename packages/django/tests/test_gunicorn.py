"""The WSGI entry point under gunicorn's sync workers."""

from __future__ import annotations

import json
import signal
import sys

from ._support import Process, free_port, http_get, serving
from .conftest import Project

STARTED = "signal startup async app"


def gunicorn(project: Project, port: int, *extra: str) -> Process:
    args = [sys.executable, "-m", "gunicorn", "djl_site.wsgi:application"]
    args += ["--bind", f"127.0.0.1:{port}", "--worker-class", "sync", *extra]
    return Process(args, project.env(), project.out("gunicorn"))


def started(project: Project) -> set[int]:
    return {pid for pid, event in project.events() if event == STARTED}


def stopped(project: Project) -> set[int]:
    return {pid for pid, event in project.events() if event == "stop app test"}


def test_each_sync_worker_runs_the_hooks_and_sigterm_stops_them(project: Project) -> None:
    """Each sync worker runs the startup when it loads the app, and its shutdown on SIGTERM."""
    port = free_port()
    with gunicorn(project, port, "--workers", "2") as server:
        server.wait_for("two workers started", lambda: len(started(project)) == 2)
        server.wait_for("the server listening", serving(port))
        assert server.pid not in started(project)
        status, body = http_get(port, "/sync-items/")
        assert status == 200, body
        payload = json.loads(body)
        assert payload["pid"] in started(project)
        assert payload["catalog"]["names"] == ["seeded"]
        workers = started(project)
        server.popen.send_signal(signal.SIGTERM)
        assert server.wait() == 0, server.output()
        assert stopped(project) == workers


def test_preload_is_refused_loudly(project: Project) -> None:
    """With --preload the hooks ran before the fork: requests fail with an error saying so."""
    port = free_port()
    with gunicorn(project, port, "--workers", "1", "--preload") as server:
        server.wait_for("the server listening", serving(port))
        assert started(project) == {server.pid}
        status, _ = http_get(port, "/sync-items/")
        assert status == 500
        server.wait_for("the error", lambda: "drop --preload" in server.output())
        server.popen.send_signal(signal.SIGTERM)
        assert server.wait() == 0, server.output()
        assert stopped(project) == {server.pid}
