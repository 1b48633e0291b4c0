"""Real ASGI servers as subprocesses: started on 127.0.0.1, bounded in time, always cleaned up.

Each server serves ``app/lifecycle_app.py``, whose hooks append ``<pid> <event>`` lines to a
log file; the tests read that file back. A run is done in full (start, requests, SIGTERM or a
failed startup, exit) inside a fixture, and the tests assert on its record, so that no server
outlives the fixture that started it.
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
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

APP_DIR = Path(__file__).resolve().parent / "app"
APP = "lifecycle_app:app"

# Generous bounds, never asserted: they only stop a broken server from hanging the suite.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
REQUEST_TIMEOUT = 2.0
POLL_INTERVAL = 0.05

HANG_TIMEOUT = "0.5"  # the hanging hook's own timeout= (seconds)

# The environment switches of app/lifecycle_app.py that make its startup fail.
FAILURES: dict[str, dict[str, str]] = {
    "failing": {"LIFECYCLE_FAIL": "the database is unreachable"},
    "hanging": {"LIFECYCLE_HANG": HANG_TIMEOUT},
}


class ServerError(AssertionError):
    """A server did not do what the test waited for; the message carries its output."""


def free_port() -> int:
    """Return a port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _version(distribution: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version(distribution).split(".")[:2] if part.isdigit())


def _gunicorn_options() -> list[str]:
    # Its control socket (new in 25.1) would be created in the home directory.
    return ["--no-control-socket"] if _version("gunicorn") >= (25, 1) else []


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

    def command(self, port: int) -> list[str]:
        """The arguments after ``python`` for a server on `port`."""
        return [*self.template.format(app=APP, port=port).split(), *self.options()]


UVICORN = "-m uvicorn {app} --host 127.0.0.1 --port {port}"
SERVERS: dict[str, ServerKind] = {
    kind.name: kind
    for kind in (
        ServerKind("uvicorn-auto", UVICORN + " --lifespan auto"),
        ServerKind("uvicorn-on", UVICORN + " --lifespan on"),
        ServerKind("uvicorn-off", UVICORN + " --lifespan off"),
        ServerKind("hypercorn", "-m hypercorn {app} --bind 127.0.0.1:{port}"),
        ServerKind("granian", "-m granian --interface asgi --host 127.0.0.1 --port {port} {app}"),
        ServerKind("daphne", "-m daphne --bind 127.0.0.1 --port {port} {app}"),
        ServerKind(
            "gunicorn",
            "-m gunicorn --worker-class uvicorn_worker.UvicornWorker --workers 2 "
            "--bind 127.0.0.1:{port} {app}",
            workers=2,
            options=_gunicorn_options,
        ),
    )
}


@dataclass(frozen=True)
class LogLine:
    """One line the app wrote: which process, and what happened."""

    pid: int
    event: str


def _python_path() -> str:
    inherited = os.environ.get("PYTHONPATH")
    return os.pathsep.join([str(APP_DIR), inherited] if inherited else [str(APP_DIR)])


class Server:
    """One server subprocess in a session (process group) of its own.

    Its stdout and stderr go to files (a pipe nobody reads would fill up and block it).
    Use `running`, which kills the whole process group whatever happens.
    """

    def __init__(self, kind: ServerKind, workdir: Path, env: dict[str, str]) -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = workdir / "hooks.log"
        self.stdout_path = workdir / "stdout.txt"
        self.stderr_path = workdir / "stderr.txt"
        self.command = [sys.executable, *kind.command(self.port)]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LIFECYCLE_")},
            **env,
            "LIFECYCLE_LOG": str(self.log_path),
            "PYTHONPATH": _python_path(),
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

    def __str__(self) -> str:
        status = None if self.process is None else self.process.poll()
        log = self.log_path.read_text() if self.log_path.exists() else ""
        return (
            f"command: {' '.join(self.command)}\nexit status: {status}\n"
            f"--- hooks log\n{log}--- stdout\n{self.stdout_path.read_text(errors='replace')}"
            f"--- stderr\n{self.stderr_path.read_text(errors='replace')}"
        )


@contextlib.contextmanager
def running(kind: ServerKind, workdir: Path, **env: str) -> Iterator[Server]:
    """Start a server of `kind` in `workdir`; kill its whole process group when done."""
    server = Server(kind, workdir, env)
    try:
        server.start()
        yield server
    finally:
        server.kill()


@dataclass
class Record:
    """What one server run did, for the tests to assert on.

    Attributes:
        server: The (finished) server: its log, output and exit status.
        failure: The key of `FAILURES` the startup was given, if any.
        answers: The HTTP answers it gave.
        exit_status: The exit status of its main process.
    """

    server: Server
    failure: str | None = None
    answers: list[httpx.Response] = field(default_factory=list)
    exit_status: int | None = None

    @property
    def log(self) -> list[LogLine]:
        """The lines the app wrote."""
        return self.server.log()

    def events(self, pid: int) -> list[str]:
        """The events of one process, in order."""
        return [line.event for line in self.log if line.pid == pid]

    def hook_pids(self) -> list[int]:
        """The processes that ran the first startup hook, in order."""
        return [line.pid for line in self.log if line.event == "start first"]

    def __str__(self) -> str:
        return str(self.server)


def served_run(kind: ServerKind, workdir: Path) -> Record:
    """Start, wait until every worker has started, GET / twice, SIGTERM, wait for the exit."""
    with running(kind, workdir) as server:
        record = Record(server)
        record.answers.append(server.first_response())
        server.wait_for_log(
            lambda log: (
                len({line.pid for line in log if line.event == "start last"}) >= kind.workers
            ),
            f"the startup of {kind.workers} worker(s)",
        )
        record.answers.append(server.get())
        record.exit_status = server.terminate()
        return record


def failed_run(kind: ServerKind, workdir: Path, failure: str) -> Record:
    """Start with a failing startup; request until the server exits by itself, or answers."""
    with running(kind, workdir, **FAILURES[failure]) as server:
        record = Record(server, failure)
        answer = server.answer_before_exit()
        if answer is None:
            record.exit_status = server.poll()
        else:  # it serves despite the failure: record that, and stop it
            record.answers.append(answer)
            record.exit_status = server.terminate()
        return record


def unstarted_run(kind: ServerKind, workdir: Path) -> Record:
    """Start a server that sends no lifespan, GET / twice, SIGTERM, wait for the exit."""
    with running(kind, workdir) as server:
        record = Record(server)
        record.answers.append(server.first_response())
        record.answers.append(server.get())
        record.exit_status = server.terminate()
        return record


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Record:
    """A full run (start, requests, SIGTERM) of the server named by the test's parameter."""
    name: str = request.param
    return served_run(SERVERS[name], tmp_path_factory.mktemp(name))


@pytest.fixture(scope="module")
def failed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Record:
    """A run with a failing startup, the parameter being ``(server, failure)``."""
    name, failure = request.param
    return failed_run(SERVERS[name], tmp_path_factory.mktemp(f"{name}-{failure}"), failure)


@pytest.fixture(scope="module")
def unstarted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Record:
    """A run of a server that sends no lifespan."""
    name: str = request.param
    return unstarted_run(SERVERS[name], tmp_path_factory.mktemp(name))


# gunicorn with two uvicorn workers serving app/metrics_app.py, in prometheus_client's
# multiprocess mode; its configuration (app/metrics_gunicorn.py) drops an exited worker's gauges.
PROMETHEUS_GUNICORN = ServerKind(
    "gunicorn-prometheus",
    "-m gunicorn --worker-class uvicorn_worker.UvicornWorker --workers 2 "
    "--config python:metrics_gunicorn --bind 127.0.0.1:{port} metrics_app:app",
    workers=2,
    options=_gunicorn_options,
)


@dataclass
class MetricsRecord:
    """What a multiprocess-metrics run exposed.

    Attributes:
        record: The run (log, output, exit status).
        live: ``/metrics`` once both workers were ready (or when waiting for that gave up).
        after: The sum of the multiprocess directory after the server exited.
    """

    record: Record
    live: str = ""
    after: str = ""


def _ready_workers(text: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "asgi_lifecycle_state" and sample.labels.get("state") == "ready"
    )


def metrics_run(workdir: Path) -> MetricsRecord:
    """Start gunicorn -w 2 in multiprocess mode, scrape /metrics, SIGTERM, sum the files."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    directory = workdir / "prometheus"
    directory.mkdir()
    kind = PROMETHEUS_GUNICORN
    with running(kind, workdir, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
        run = MetricsRecord(Record(server))
        run.record.answers.append(server.first_response())
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            response = server.client.get(f"{server.url}metrics")
            run.live = response.text
            if _ready_workers(run.live) >= kind.workers or time.monotonic() > deadline:
                break
            time.sleep(POLL_INTERVAL)
        run.record.exit_status = server.terminate()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    run.after = generate_latest(registry).decode()
    return run


@pytest.fixture(scope="module")
def multiprocess_metrics(tmp_path_factory: pytest.TempPathFactory) -> MetricsRecord:
    """A full run of gunicorn with two workers whose metrics are in multiprocess mode."""
    return metrics_run(tmp_path_factory.mktemp("gunicorn-prometheus"))
