"""The test project under a real uvicorn process."""

from __future__ import annotations

import json
import signal
import sys

from ._support import Process, events_of, free_port, http_get, serving
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


def uvicorn(project: Project, port: int, *extra: str, **env: str) -> Process:
    args = [sys.executable, "-m", "uvicorn", "djl_site.asgi:application"]
    args += ["--host", "127.0.0.1", "--port", str(port), *extra]
    return Process(args, project.env(**env), project.out("uvicorn"))


def test_hooks_run_view_answers_and_sigterm_shuts_down(project: Project) -> None:
    """Under uvicorn the hooks run, views see state and the ORM, and SIGTERM runs the shutdown."""
    port = free_port()
    with uvicorn(project, port) as server:
        server.wait_for("the server listening", serving(port))
        assert events_of(project.log, server.pid) == STARTUP
        for path in ("/items/", "/sync-items/"):
            status, body = http_get(port, path)
            assert status == 200, body
            payload = json.loads(body)
            assert payload["pid"] == server.pid
            assert payload["catalog"] == {"names": ["seeded"], "greeting": "hello from settings"}
            assert payload["signal"] == "from asgi_startup"
            assert payload["count"] == 1
            assert (payload["service_type"], payload["environment"]) == ("app", "test")

        server.popen.send_signal(signal.SIGTERM)
        # uvicorn >= 0.29 re-raises SIGTERM after a graceful shutdown: -15 is clean too.
        assert server.wait() in (0, -signal.SIGTERM), server.output()
        assert events_of(project.log, server.pid) == STARTUP + SHUTDOWN
        assert "Application shutdown complete" in server.output()


def test_failing_critical_hook_stops_the_server(project: Project) -> None:
    """A failing critical hook stops uvicorn (non-zero exit) with the hook's error."""
    port = free_port()
    with uvicorn(project, port, DJL_FAIL_STARTUP="no database") as server:
        status = server.wait()
        output = server.output()
        assert status > 0, output
        assert "RuntimeError: refusing to start: no database" in output
        assert "djl_site.maybe_fail" in output
        events = events_of(project.log, server.pid)
        assert events[-4:] == [
            "maybe_fail raising",
            "catalog teardown",
            "farewell 1",
            "stop app test",
        ]
        assert not serving(port)()


def test_failing_critical_hook_stops_the_server_in_lifespan_auto_mode(project: Project) -> None:
    """Even with uvicorn's default --lifespan auto, a failing hook stops the server."""
    port = free_port()
    with uvicorn(project, port, "--lifespan", "auto", DJL_FAIL_STARTUP="down") as server:
        assert server.wait() > 0, server.output()
        assert "refusing to start: down" in server.output()


def test_lifespan_off_warns_that_hooks_did_not_run(project: Project) -> None:
    """With --lifespan off the hooks never run and the first request logs a loud warning."""
    port = free_port()
    with uvicorn(project, port, "--lifespan", "off") as server:
        server.wait_for("the server listening", serving(port))
        status, body = http_get(port, "/sync-items/")
        assert status == 200, body
        assert json.loads(body)["catalog"] is None
        server.wait_for("the warning", lambda: "before any lifespan startup" in server.output())
        server.popen.send_signal(signal.SIGTERM)
        assert server.wait() in (0, -signal.SIGTERM), server.output()
    assert events_of(project.log, server.pid) == []
