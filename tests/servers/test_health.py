"""Health probes of every adapter under real servers, from a slow startup to SIGTERM.

Each app (``app/health_*.py``) shares the hooks of ``app/health_hooks.py``: a startup
that waits for the test, a database check the test can make fail, an in-flight request
the test releases, and a `HealthServer` on a port of its own (servers route no request
before the startup is complete, nor accept new connections once SIGTERM arrived, so the
states around them are read there; the adapter's endpoint answers in between).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .._servers import (
    POLL_INTERVAL,
    START_TIMEOUT,
    STOP_TIMEOUT,
    App,
    Server,
    ServerError,
    ServerKind,
    free_port,
    gunicorn_options,
    running,
)

APP_DIRECTORY = Path(__file__).resolve().parent / "app"
TOKEN = "probe-token-0123"
SECRET = "postgres://admin:hunter2@db.internal:5432/shop"
CLEAN_EXITS = {0, -signal.SIGTERM}

UVICORN = "-m uvicorn {app} --host 127.0.0.1 --port {port}"
HYPERCORN = "-m hypercorn --workers 0 --bind 127.0.0.1:{port} {app}"
GUNICORN_SYNC = "-m gunicorn --worker-class sync --workers 1 --bind 127.0.0.1:{port} {app}"
APPS = {
    "middleware": "health_asgi:app",
    "fastapi": "health_fastapi:app",
    "litestar": "health_litestar:app",
    "django-asgi": "health_django_asgi:application",
    "django-wsgi": "health_django_wsgi:application",
}
CASES = [
    (app, server, template)
    for app in APPS
    for server, template in (
        [("gunicorn-sync", GUNICORN_SYNC)]
        if app == "django-wsgi"
        else [("uvicorn", UVICORN), ("hypercorn", HYPERCORN)]
    )
]


def until(what: str, server: Server, probe: Callable[[], bool], timeout: float) -> None:
    """Poll ``probe`` until it holds; fail with the server's output if it does not in time."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise ServerError(f"{server.kind.name}: {what} did not happen in {timeout} s\n{server}")
        time.sleep(POLL_INTERVAL)


def answer(server: Server, url: str, **headers: str) -> httpx.Response | None:
    """GET ``url``; None while nothing answers there."""
    try:
        return server.client.get(url, headers=headers)
    except httpx.TransportError:
        return None


def status_of(server: Server, url: str) -> int | None:
    response = answer(server, url)
    return None if response is None else response.status_code


def state_in(response: httpx.Response) -> str:
    body = response.json()
    return str(body["checks"]["lifecycle:state"][0]["observedValue"])


@pytest.mark.parametrize(
    ("app", "server_name", "template"), CASES, ids=[f"{a}-{s}" for a, s, _ in CASES]
)
def test_probes_follow_the_lifecycle(
    app: str, server_name: str, template: str, tmp_path: Path
) -> None:
    """Probes answer 503 while starting, 200 when ready, 503 on a failing check or once draining."""
    flags = tmp_path / "flags"
    flags.mkdir()
    probe_port = free_port()
    options = gunicorn_options if server_name.startswith("gunicorn") else list
    kind = ServerKind(server_name, template, options=options)
    served = App(APP_DIRECTORY, APPS[app], "HEALTH_")
    env = {"HEALTH_DIR": str(flags), "HEALTH_PORT": str(probe_port), "HEALTH_TOKEN": TOKEN}
    with running(kind, served, tmp_path, **env) as server:
        probes = f"http://127.0.0.1:{probe_port}"
        health = f"http://127.0.0.1:{server.port}/health"

        # Starting: the startup waits for the test; the probe port answers already.
        until(
            "the probe port answering",
            server,
            lambda: status_of(server, f"{probes}/ready") is not None,
            START_TIMEOUT,
        )
        starting = answer(server, f"{probes}/ready")
        assert starting is not None
        assert starting.status_code == 503, starting.text
        assert state_in(starting) == "starting"
        assert status_of(server, f"{probes}/live") == 200

        # Ready: the adapter's endpoint answers once the server serves.
        (flags / "start").touch()
        until(
            "the endpoint answering 200",
            server,
            lambda: status_of(server, f"{health}/ready") == 200,
            START_TIMEOUT,
        )
        ready = answer(server, f"{health}/ready")
        assert ready is not None
        assert ready.headers["content-type"].startswith("application/health+json")
        assert ready.json()["status"] == "pass"
        assert status_of(server, f"{health}/live") == 200
        assert status_of(server, f"{health}/") == 200  # the bare prefix is readiness

        # A failing critical check: 503, its error only for the token.
        (flags / "fail").touch()
        public = answer(server, f"{health}/ready")
        assert public is not None
        assert public.status_code == 503, public.text
        assert public.json()["status"] == "fail"
        assert SECRET not in public.text
        assert "ConnectionError" not in public.text
        detailed = answer(server, f"{health}/ready", authorization=f"Bearer {TOKEN}")
        assert detailed is not None
        assert detailed.status_code == 503
        assert SECRET in detailed.text
        wrong = answer(server, f"{health}/ready", authorization="Bearer not-the-token")
        assert wrong is not None
        assert wrong.status_code == 401
        assert status_of(server, f"{health}/live") == 200  # a failing check is no reason to restart
        (flags / "fail").unlink()
        assert status_of(server, f"{health}/ready") == 200

        # Shutdown: readiness fails at once, while the request in flight still finishes.
        slow: list[httpx.Response] = []
        request = threading.Thread(
            target=lambda: slow.append(
                httpx.get(
                    f"http://127.0.0.1:{server.port}/slow", timeout=STOP_TIMEOUT, trust_env=False
                )
            )
        )
        request.start()
        try:
            until(
                "the slow request arriving",
                server,
                lambda: "slow started" in events(flags),
                START_TIMEOUT,
            )
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            until(
                "readiness failing",
                server,
                lambda: status_of(server, f"{probes}/ready") == 503,
                STOP_TIMEOUT,
            )
            draining = answer(server, f"{probes}/ready")
            assert not slow, "the in-flight request finished before readiness failed"
            assert draining is not None
            assert state_in(draining) == "draining"
            assert status_of(server, f"{probes}/live") == 200
        finally:
            (flags / "finish").touch()
            request.join(STOP_TIMEOUT)
        assert slow, server
        assert slow[0].status_code == 200, server
        assert slow[0].text == "draining"
        assert server.process.wait(STOP_TIMEOUT) in CLEAN_EXITS, server


def events(flags: Path) -> list[str]:
    path = flags / "events"
    return path.read_text().splitlines() if path.exists() else []
