"""A real uvicorn, in its default --lifespan auto mode, serving a FastAPI app with hooks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
WAIT = 30.0  # seconds: a bound on every wait, never an expectation


@dataclass
class Server:
    """A uvicorn subprocess and the files it writes."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    events: Path

    def read_events(self) -> list[str]:
        return self.events.read_text().splitlines() if self.events.exists() else []

    def read_log(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())

    def wait_ready(self) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"uvicorn exited ({self.process.returncode}):\n{self.read_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"uvicorn did not listen within {WAIT} s:\n{self.read_log()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start ``uvicorn served_app:app`` with extra environment; always killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> Server:
        port = free_port()
        log, events = tmp_path / f"uvicorn-{port}.log", tmp_path / f"events-{port}"
        command = [
            sys.executable, "-m", "uvicorn", "served_app:app", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip
        environment = {**os.environ, "SERVED_APP_EVENTS": str(events), **env}
        environment.pop("ASGI_LIFECYCLE_ENV", None)
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=environment
            )
        started.append(process)
        return Server(process, port, log, events)

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=WAIT)


def test_hooks_run_around_requests_and_sigterm(serve: Any) -> None:
    """Under uvicorn the hooks start, state reaches handlers, and SIGTERM stops it all cleanly."""
    server: Server = serve()
    server.wait_ready()
    assert server.get("/items") == {"database": "pool", "cache": "redis", "service_type": "api"}
    assert server.read_events() == ["database up", "broker checked", "app up"]
    server.process.send_signal(signal.SIGTERM)
    returncode = server.process.wait(timeout=WAIT)
    assert returncode in (0, -signal.SIGTERM), server.read_log()
    assert server.read_events() == [
        "database up",
        "broker checked",
        "app up",
        "app down",
        "flushed",
        "database down",
    ]
    log = server.read_log()
    assert "Application startup complete" in log
    assert "Application shutdown complete" in log


def test_a_failing_critical_hook_stops_uvicorn(serve: Any) -> None:
    """In uvicorn's default mode a failing critical hook stops the server, naming hook and error."""
    server: Server = serve(SERVED_APP_FAIL="1")
    returncode = server.process.wait(timeout=WAIT)
    log = server.read_log()
    assert returncode > 0, log
    assert "check_broker" in log
    assert "ConnectionError: broker unreachable" in log
    assert "Application startup failed. Exiting." in log
    assert "Uvicorn running" not in log
    assert server.read_events() == ["database up", "flushed", "database down"]  # rollback
