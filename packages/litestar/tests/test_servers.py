"""The plugin under real servers: plain uvicorn and ``litestar run``, as subprocesses."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

APPS = Path(__file__).parent / "apps"
APP = "litestar_lifecycle_app:app"
# Generous bounds for a loaded CI machine; each only limits a wait, none is asserted.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server subprocess, where it listens, and the files it writes."""

    process: subprocess.Popen[bytes]
    port: int
    events_file: Path
    output_file: Path

    @property
    def events(self) -> list[str]:
        """The lines the app's hooks wrote, in order."""
        if not self.events_file.exists():
            return []
        return self.events_file.read_text(encoding="utf-8").splitlines()

    @property
    def output(self) -> str:
        """What the server printed (stdout and stderr)."""
        return self.output_file.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self) -> None:
        """Wait until the app answers a request, failing if the process ends first."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.output}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{self.port}/items", timeout=1.0)
                return
            time.sleep(0.05)
        pytest.fail(f"the server did not answer within {START_TIMEOUT} s:\n{self.output}")

    def wait_exit(self) -> int:
        """Wait for the process to end and return its exit status."""
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server did not exit within {STOP_TIMEOUT} s:\n{self.output}")


def uvicorn_command(port: int) -> list[str]:
    """Plain uvicorn, with its default lifespan mode ('auto')."""
    return [sys.executable, "-m", "uvicorn", APP, "--host", "127.0.0.1", "--port", str(port)]


def litestar_command(port: int) -> list[str]:
    """Litestar's own CLI, which runs uvicorn in process."""
    return [
        sys.executable, "-m", "litestar", "--app", APP,
        "run", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip


COMMANDS = {"uvicorn": uvicorn_command, "litestar run": litestar_command}


@pytest.fixture(params=sorted(COMMANDS))
def command(request: pytest.FixtureRequest) -> str:
    """Each server test runs under plain uvicorn and under ``litestar run``."""
    return str(request.param)


@contextlib.contextmanager
def serve(command: str, tmp_path: Path, *, fail: bool = False) -> Iterator[Server]:
    """Start the test app under ``command``; always kill it at the end."""
    port = free_port()
    events_file, output_file = tmp_path / "events.txt", tmp_path / "output.txt"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(APPS), os.environ.get("PYTHONPATH", "")]),
        "LIFECYCLE_EVENTS": str(events_file),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("LIFECYCLE_FAIL", None)
    if fail:
        env["LIFECYCLE_FAIL"] = "1"
    with output_file.open("wb") as output:
        process = subprocess.Popen(
            COMMANDS[command](port),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=tmp_path,
        )
    try:
        yield Server(process, port, events_file, output_file)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def test_hooks_serve_and_stop_on_sigterm(command: str, tmp_path: Path) -> None:
    """The server runs the startup hooks, serves their state, runs the shutdown hooks on SIGTERM."""
    with serve(command, tmp_path) as server:
        server.wait_ready()
        assert server.events == ["db setup api", "warm_cache start"]
        response = httpx.get(f"http://127.0.0.1:{server.port}/items", timeout=5.0)
        assert response.json() == {
            "db": {"url": "sqlite://"},
            "service_type": "api",
            "environment": "development",
        }
        server.process.send_signal(signal.SIGTERM)
        status = server.wait_exit()
        # uvicorn re-raises SIGTERM after a graceful shutdown: -15 is a clean stop too.
        assert status in (0, -signal.SIGTERM), server.output
        assert server.events == ["db setup api", "warm_cache start", "flush stop", "db teardown"]


def test_failing_critical_hook_refuses_to_start(command: str, tmp_path: Path) -> None:
    """A failing critical hook makes the server exit with an error, logging the hook and error."""
    with serve(command, tmp_path, fail=True) as server:
        status = server.wait_exit()
        output = server.output
        assert status > 0, output
        assert "connect_broker" in output
        assert "broker unreachable at amqp://broker:5672" in output
        assert "Application startup failed" in output
        assert "Application startup complete" not in output
        assert server.events == [
            "db setup api",
            "warm_cache start",
            "connect_broker start",
            "flush stop",
            "db teardown",
        ]
