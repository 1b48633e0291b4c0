"""The server matrix: each server runs ``app/lifecycle_app.py`` as a subprocess.

Its hooks append ``<pid> <event>`` lines to a log file; the tests read that file back. A
run is done in full (start, requests, SIGTERM or a failed startup, exit) inside a fixture,
and the tests assert on its record, so that no server outlives the fixture that started it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from .._servers import (
    POLL_INTERVAL,
    START_TIMEOUT,
    App,
    LogLine,
    Server,
    ServerKind,
    gunicorn_options,
    running,
)

APP = App(Path(__file__).resolve().parent / "app", "lifecycle_app:app", "LIFECYCLE_")

HANG_TIMEOUT = "0.5"  # the hanging hook's own timeout= (seconds)

# The environment switches of app/lifecycle_app.py that make its startup fail.
FAILURES: dict[str, dict[str, str]] = {
    "failing": {"LIFECYCLE_FAIL": "the database is unreachable"},
    "hanging": {"LIFECYCLE_HANG": HANG_TIMEOUT},
}

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
            options=gunicorn_options,
        ),
    )
}


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
    with running(kind, APP, workdir) as server:
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
    with running(kind, APP, workdir, **FAILURES[failure]) as server:
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
    with running(kind, APP, workdir) as server:
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
    options=gunicorn_options,
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
    with running(kind, APP, workdir, PROMETHEUS_MULTIPROC_DIR=str(directory)) as server:
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
