"""An ASGI app under real servers, configured only by a pyproject.toml in its project."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from .._servers import App, ServerKind, running
from .conftest import SERVERS

PYPROJECT = """
[project]
name = "configured"

[tool.asgi-lifecycle]
modules = ["configured_hooks"]
service_type = "api"
environment = "staging"

[tool.asgi-lifecycle.config]
dsn = "sqlite://configured"
"""

HOOKS = """
import os

from asgi_lifecycle import lifespan


def log(event):
    with open(os.environ["CFGAPP_LOG"], "a") as handle:
        handle.write(f"{os.getpid()} {event}\\n")


@lifespan.resource
def database(ctx):
    log(f"start {ctx.service_type} {ctx.environment} {ctx.get_config('dsn')}")
    yield ctx.get_config("dsn")
    log("stop database")
"""

# The app does not import the hook module: the configuration names it.
WEB = """
from asgi_lifecycle import LifespanMiddleware


async def inner(scope, receive, send):
    assert scope["type"] == "http"
    body = str(scope["state"]["database"]).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


app = LifespanMiddleware(inner)
"""


@pytest.mark.parametrize(
    "kind", [SERVERS["uvicorn-on"], SERVERS["hypercorn"]], ids=lambda kind: kind.name
)
def test_middleware_app_is_configured_by_the_file(tmp_path: Path, kind: ServerKind) -> None:
    """A LifespanMiddleware app runs the hooks the pyproject.toml names, with its context."""
    for name, text in {
        "pyproject.toml": PYPROJECT,
        "configured_hooks.py": HOOKS,
        "web.py": WEB,
    }.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    app = App(tmp_path, "web:app", "CFGAPP_")
    with running(kind, app, tmp_path) as server:
        response = server.first_response()
        assert response.status_code == 200, server
        assert response.text == "sqlite://configured"
        server.terminate()  # uvicorn re-raises SIGTERM once it has shut down: no exit status
        events = [line.event for line in server.log()]
    assert events == ["start api staging sqlite://configured", "stop database"]
