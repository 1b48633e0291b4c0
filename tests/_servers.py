"""Real ASGI servers as subprocesses: started on 127.0.0.1, bounded in time, always cleaned up.

Shared by the server matrix (``tests/servers``) and the reliability suite
(``tests/reliability``). The app a server runs appends ``<pid> <event>`` lines to a log
file; the tests read that file back.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import httpx

# Generous bounds, never asserted: they only stop a broken server from hanging the suite.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
REQUEST_TIMEOUT = 2.0
POLL_INTERVAL = 0.05


class ServerError(AssertionError):
    """A server did not do what the test waited for; the message carries its output."""


def free_port() -> int:
    """Return a port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def version_of(distribution: str) -> tuple[int, ...]:
    """The (major, minor) version of an installed distribution."""
    return tuple(int(part) for part in version(distribution).split(".")[:2] if part.isdigit())


def gunicorn_options() -> list[str]:
    """Options every gunicorn of the tests takes."""
    # Its control socket (new in 25.1) would be created in the home directory.
    return ["--no-control-socket"] if version_of("gunicorn") >= (25, 1) else []


@dataclass(frozen=True)
class ServerKind:
    """How to start one server, and what it is expected to do.

    Attributes:
        name: The test id.
        template: The arguments after ``python``, with ``{app}`` and ``{port}``.
        workers: How many processes run the app (and so the hooks).
        options: More arguments, decided when the server starts.
    """

    name: str
    template: str
    workers: int = 1
    options: Callable[[], list[str]] = list

    def command(self, port: int, target: str) -> list[str]:
        """The arguments after ``python`` for a server of `target` on `port`."""
        return [*self.template.format(app=target, port=port).split(), *self.options()]


@dataclass(frozen=True)
class LogLine:
    """One line the app wrote: which process, and what happened."""

    pid: int
    event: str


@dataclass(frozen=True)
class App:
    """An application the servers serve, and how it is told where to write its log.

    Attributes:
        directory: The folder holding its module (put on ``PYTHONPATH``).
        target: ``module:attribute``, as servers take it.
        prefix: The prefix of its environment variables; ``<prefix>LOG`` names its log,
            and variables of the test process with that prefix are not passed on.
    """

    directory: Path
    target: str
    prefix: str

    def python_path(self) -> str:
        """``PYTHONPATH`` with the app's folder first."""
        inherited = os.environ.get("PYTHONPATH")
        folders = [str(self.directory), inherited] if inherited else [str(self.directory)]
        return os.pathsep.join(folders)


class Server:
    """One server subprocess in a session (process group) of its own.

    Its stdout and stderr go to files (a pipe nobody reads would fill up and block it).
    Use `running`, which kills the whole process group whatever happens.
    """

    def __init__(self, kind: ServerKind, app: App, workdir: Path, env: dict[str, str]) -> None:
        self.kind = kind
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = workdir / "hooks.log"
        self.stdout_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        self.command = [sys.executable, *kind.command(self.port, app.target)]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(app.prefix)},
            **env,
            f"{app.prefix}LOG": str(self.log_path),
            "PYTHONPATH": app.python_path(),
            "PYTHONUNBUFFERED": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(timeout=REQUEST_TIMEOUT, trust_env=False)

    @property
    def pid(self) -> int:
        """The pid of the main process."""
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Start the server; it is not serving yet."""
        self.log_path.touch()
        with self.stdout_path.open("wb") as stdout, self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env=self.env,
                cwd=self.log_path.parent,
                start_new_session=True,
            )

    def poll(self) -> int | None:
        """Return the exit status of the main process, or None while it runs."""
        assert self.process is not None
        return self.process.poll()

    def get(self) -> httpx.Response:
        """GET / once."""
        return self.client.get(self.url)

    def first_response(self, timeout: float = START_TIMEOUT) -> httpx.Response:
        """Return the first answer to GET /, retrying while the server starts."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.get()
            except httpx.TransportError:
                if self.poll() is not None:
                    raise ServerError(f"{self.kind.name} exited before serving\n{self}") from None
                if time.monotonic() > deadline:
                    message = f"{self.kind.name} did not serve in {timeout} s"
                    raise ServerError(f"{message}\n{self}") from None
                time.sleep(POLL_INTERVAL)

    def wait_for_log(
        self, done: Callable[[list[LogLine]], bool], what: str, timeout: float = START_TIMEOUT
    ) -> None:
        """Wait until the hooks' log satisfies `done`."""
        deadline = time.monotonic() + timeout
        while not done(self.log()):
            if self.poll() is not None or time.monotonic() > deadline:
                raise ServerError(f"{self.kind.name}: {what} did not happen\n{self}")
            time.sleep(POLL_INTERVAL)

    def answer_before_exit(self, timeout: float = START_TIMEOUT) -> httpx.Response | None:
        """Send GET / until the server exits by itself (None) or answers (the answer)."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise ServerError(f"{self.kind.name} did not exit by itself in {timeout} s\n{self}")
            with contextlib.suppress(httpx.TransportError):
                return self.get()
            time.sleep(POLL_INTERVAL)
        return None

    def terminate(self, timeout: float = STOP_TIMEOUT) -> int:
        """Send SIGTERM to the main process, as a process manager does; return its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ServerError(f"{self.kind.name} ignored SIGTERM for {timeout} s\n{self}") from None

    def kill(self) -> None:
        """Kill every process of the server's group (workers included), and reap the main one."""
        self.client.close()
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)

    def log(self) -> list[LogLine]:
        """The lines the app wrote so far."""
        lines = []
        for line in self.log_path.read_text().splitlines():
            pid, _, event = line.partition(" ")
            lines.append(LogLine(int(pid), event))
        return lines

    def output(self) -> str:
        """Everything the server printed, stdout then stderr."""
        return "".join(
            path.read_text(errors="replace") for path in (self.stdout_path, self.stderr_path)
        )

    def __repr__(self) -> str:
        # What an assertion message shows: the command, the log and the output.
        return str(self)

    def __str__(self) -> str:
        status = None if self.process is None else self.process.poll()
        log = self.log_path.read_text() if self.log_path.exists() else ""
        return (
            f"command: {' '.join(self.command)}\nexit status: {status}\n"
            f"--- hooks log\n{log}--- stdout\n{self.stdout_path.read_text(errors='replace')}"
            f"--- stderr\n{self.stderr_path.read_text(errors='replace')}"
        )


@contextlib.contextmanager
def running(kind: ServerKind, app: App, workdir: Path, **env: str) -> Iterator[Server]:
    """Start a server of `kind` serving `app` in `workdir`; kill its process group when done."""
    server = Server(kind, app, workdir, env)
    try:
        server.start()
        yield server
    finally:
        server.kill()
