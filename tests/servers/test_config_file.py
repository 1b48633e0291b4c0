"""ASGI apps under real servers, configured only by a pyproject.toml in their project.

The app modules never import the hook module: the file's ``modules`` names it.
"""

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


# FastAPI and Litestar read the same file; the "api" table overrides the config, the
# environment variable (when given) the file's environment.
ADAPTER_PYPROJECT = """
[project]
name = "configured"

[tool.asgi-lifecycle]
modules = ["configured_hooks"]
service_type = "api"
environment = "staging"
shutdown_timeout = 15

[tool.asgi-lifecycle.config]
dsn = "sqlite://configured"
cache = "memory://file"

[tool.asgi-lifecycle.service.api]
config = { cache = "memory://api" }
"""

ADAPTER_HOOKS = """
import os

from asgi_lifecycle import lifespan


def log(event):
    with open(os.environ["CFGAPP_LOG"], "a") as handle:
        handle.write(f"{os.getpid()} {event}\\n")


@lifespan.resource
def database(ctx):
    log(f"start database {ctx.service_type} {ctx.environment} {ctx.get_config('dsn')}")
    yield f"{ctx.service_type} {ctx.environment} {ctx.get_config('dsn')}"
    log("stop database")


@lifespan.resource(after=database)
def cache(ctx):
    log(f"start cache {ctx.get_config('cache')}")
    yield ctx.get_config("cache")
    log("stop cache")


@lifespan.on_shutdown
def budget():
    log(f"shutdown budget {lifespan.shutdown_timeout}")
"""

# As the FastAPI README sets it up, without the hook import and without arguments.
FASTAPI_WEB = """
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from asgi_lifecycle_fastapi import LifecycleContext, lifespan

app = FastAPI(lifespan=lifespan())


@app.get("/", response_class=PlainTextResponse)
async def index(request: Request, context: LifecycleContext) -> str:
    return f"{request.state.database} | {request.state.cache} | {context.service_type}"
"""

# As the Litestar README sets it up, without the hook import and without arguments.
LITESTAR_WEB = """
from litestar import Litestar, get
from litestar.datastructures import State

from asgi_lifecycle_litestar import LifecycleContext, LifecyclePlugin


@get("/", media_type="text/plain")
async def index(state: State, lifecycle_context: LifecycleContext) -> str:
    return f"{state.database} | {state.cache} | {lifecycle_context.service_type}"


app = Litestar([index], plugins=[LifecyclePlugin()])
"""

ADAPTERS = {"fastapi": FASTAPI_WEB, "litestar": LITESTAR_WEB}


def adapter_project(directory: Path, web: str) -> App:
    """Write the temp project (pyproject.toml, hook module, app module) and return its app."""
    for name, text in {
        "pyproject.toml": ADAPTER_PYPROJECT,
        "configured_hooks.py": ADAPTER_HOOKS,
        "web.py": web,
    }.items():
        (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")
    assert "configured_hooks" not in web
    return App(directory, "web:app", "CFGAPP_")


@pytest.mark.parametrize(
    ("adapter", "environment", "expected"),
    [
        ("fastapi", None, "staging"),
        ("fastapi", "canary", "canary"),
        ("litestar", None, "staging"),
        ("litestar", "canary", "canary"),
    ],
    ids=["fastapi-file", "fastapi-env-var", "litestar-file", "litestar-env-var"],
)
def test_adapter_app_is_configured_by_the_file(
    tmp_path: Path, adapter: str, environment: str | None, expected: str
) -> None:
    """An adapter's app under uvicorn runs the hooks its pyproject.toml names, with its context."""
    app = adapter_project(tmp_path, ADAPTERS[adapter])
    # An empty variable counts as unset: none of the test process's own reaches the app.
    env = {"ASGI_LIFECYCLE_ENV": environment or ""}
    with running(SERVERS["uvicorn-on"], app, tmp_path, **env) as server:
        response = server.first_response()
        assert response.status_code == 200, server
        assert response.text == f"api {expected} sqlite://configured | memory://api | api"
        server.terminate()  # uvicorn re-raises SIGTERM once it has shut down: no exit status
        events = [line.event for line in server.log()]
    assert events == [
        f"start database api {expected} sqlite://configured",
        "start cache memory://api",
        "shutdown budget 15.0",
        "stop cache",
        "stop database",
    ], server
