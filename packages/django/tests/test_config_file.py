"""A Django project configured by ``[tool.asgi-lifecycle]`` in ``pyproject.toml``, under uvicorn.

The project is written into a temporary directory: its app code never imports the
hook module the file names; the adapter imports it when Django is ready.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from ._support import Process, events_of, free_port, http_get, serving

PYPROJECT = """
[project]
name = "fcsite"

[tool.asgi-lifecycle]
modules = ["file_hooks", "fcapp.lifecycle"]
service_type = "api"
environment = "staging"
timeout = 7
config = { greeting = "from the file", dsn = "sqlite://file" }
"""

RECORD = """
import os


def record(event):
    with open(os.environ["FC_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {event}\\n")
"""

FILE_HOOKS = """
from asgi_lifecycle import lifespan

from fc_record import record

record("import file_hooks")


@lifespan.resource(key="greeter")
def greeter(ctx):
    record(f"start {ctx.service_type} {ctx.environment} {ctx.get_config('greeting')}")
    yield {"greeting": ctx.get_config("greeting"), "dsn": ctx.get_config("dsn")}
    record("stop greeter")
"""

APP_HOOKS = """
from asgi_lifecycle import lifespan

from fc_record import record

record("import fcapp.lifecycle")


@lifespan.on_shutdown
def app_goodbye():
    record("stop app_goodbye")
"""

SETTINGS_HOOKS = """
from fc_record import record

record("import settings_hooks")
"""

SETTINGS = """
SECRET_KEY = "test-only-not-secret"
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["asgi_lifecycle_django", "fcapp"]
MIDDLEWARE = ["asgi_lifecycle_django.LifecycleMiddleware"]
ROOT_URLCONF = "fcsite.urls"
DATABASES = {}
ASGI_LIFECYCLE = {"MODULES": ["settings_hooks", "file_hooks"]}
"""

# Django's settings win over the variables and the file, key by key.
SETTINGS_OVERRIDE = """
from fcsite.settings import *

ASGI_LIFECYCLE = {
    **ASGI_LIFECYCLE,
    "SERVICE_TYPE": "web",
    "CONFIG": {"greeting": "from settings"},
}
"""

URLS = """
from django.http import JsonResponse
from django.urls import path

from asgi_lifecycle import lifespan


def show(request):
    context = request.lifecycle
    return JsonResponse(
        {
            "greeter": request.state.get("greeter"),
            "service_type": context.service_type,
            "environment": context.environment,
            "timeout": lifespan.timeout,
        }
    )


urlpatterns = [path("show/", show)]
"""

ASGI = """
from asgi_lifecycle_django import get_asgi_application

application = get_asgi_application()
"""

FILES = {
    "pyproject.toml": PYPROJECT,
    "fc_record.py": RECORD,
    "file_hooks.py": FILE_HOOKS,
    "settings_hooks.py": SETTINGS_HOOKS,
    "fcapp/__init__.py": "",
    "fcapp/lifecycle.py": APP_HOOKS,
    "fcsite/__init__.py": "",
    "fcsite/settings.py": SETTINGS,
    "fcsite/settings_override.py": SETTINGS_OVERRIDE,
    "fcsite/urls.py": URLS,
    "fcsite/asgi.py": ASGI,
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """The temporary project: a pyproject.toml, a site, an app and the hook modules."""
    root = tmp_path / "fcsite-project"
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def serve(site: Path, settings: str, **env: str) -> tuple[Process, int]:
    """Start uvicorn in the project's directory with the given settings module."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ASGI_LIFECYCLE_")}
    environ.update(
        PYTHONPATH=os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])]),
        DJANGO_SETTINGS_MODULE=settings,
        FC_LOG=str(site / "hooks.log"),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        **env,
    )
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "fcsite.asgi:application"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "on"]
    return Process(args, environ, site / "uvicorn.out", cwd=site), port


def show(server: Process, port: int) -> dict[str, object]:
    server.wait_for("the server listening", serving(port))
    status, body = http_get(port, "/show/")
    assert status == 200, body
    payload: dict[str, object] = json.loads(body)
    return payload


def stop(server: Process) -> None:
    server.popen.send_signal(signal.SIGTERM)
    # uvicorn >= 0.29 re-raises SIGTERM after a graceful shutdown: -15 is clean too.
    assert server.wait() in (0, -signal.SIGTERM), server.output()


IMPORTS = ["import fcapp.lifecycle", "import settings_hooks", "import file_hooks"]


def test_file_configures_the_run_and_names_the_hook_module(site: Path) -> None:
    """The file's modules, service type, environment, config and timeout drive the uvicorn run."""
    server, port = serve(site, "fcsite.settings")
    with server:
        payload = show(server, port)
        assert payload == {
            "greeter": {"greeting": "from the file", "dsn": "sqlite://file"},
            "service_type": "api",
            "environment": "staging",
            "timeout": 7.0,
        }
        stop(server)
    # The app's lifecycle module, MODULES, then the file's: each imported once.
    assert events_of(site / "hooks.log", server.pid) == [
        *IMPORTS,
        "start api staging from the file",
        "stop greeter",
        "stop app_goodbye",
    ]


def test_django_settings_win_over_the_variables_and_the_file(site: Path) -> None:
    """settings.ASGI_LIFECYCLE beats $ASGI_LIFECYCLE_*, which beats the file, key by key."""
    server, port = serve(
        site,
        "fcsite.settings_override",
        ASGI_LIFECYCLE_SERVICE_TYPE="from-variable",
        ASGI_LIFECYCLE_ENV="qa",
    )
    with server:
        payload = show(server, port)
        # SERVICE_TYPE and CONFIG from the settings (CONFIG replaces the file's config);
        # the environment from the variable; the timeout from the file.
        assert payload == {
            "greeter": {"greeting": "from settings", "dsn": None},
            "service_type": "web",
            "environment": "qa",
            "timeout": 7.0,
        }
        stop(server)
    assert events_of(site / "hooks.log", server.pid) == [
        *IMPORTS,
        "start web qa from settings",
        "stop greeter",
        "stop app_goodbye",
    ]
