"""A real ``celery worker`` configured only by the pyproject.toml of its project.

The Celery app module never imports the hook module: the file's ``modules`` names it,
and its ``[tool.asgi-lifecycle.service.worker]`` table applies to the worker's processes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ._harness import Event, Harness, of

PYPROJECT = """
[project]
name = "jobs"

[tool.asgi-lifecycle]
modules = ["jobs_hooks"]
service_type = "api"
environment = "staging"
shutdown_timeout = 20

[tool.asgi-lifecycle.config]
dsn = "sqlite://jobs"
queue = "default"

[tool.asgi-lifecycle.service.worker]
startup_timeout = 30
shutdown_timeout = 12
config = { queue = "orders" }
"""

RECORD = """
import json
import os


def record(event, **fields):
    line = json.dumps({"event": event, "pid": os.getpid(), **fields})
    fd = os.open(os.path.join(os.environ["ALC_TEST_DATA"], "events.jsonl"),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\\n").encode())
    finally:
        os.close(fd)
"""

HOOKS = (
    RECORD
    + """

from asgi_lifecycle import lifespan


@lifespan.resource
def database(context):
    record(
        "startup",
        service_type=context.service_type,
        environment=context.environment,
        dsn=context.get_config("dsn"),
        queue=context.get_config("queue"),
        process=context.get_metadata("celery.process"),
        budgets=[lifespan.startup_timeout, lifespan.shutdown_timeout],
    )
    yield f"{context.get_config('dsn')}/{context.get_config('queue')}"
    record("shutdown")
"""
)

# As the Celery README sets it up: install(app), no hook import, no context arguments.
APP = (
    RECORD
    + """

from celery import Celery

import asgi_lifecycle_celery

DATA = os.environ["ALC_TEST_DATA"]
app = Celery("jobs_app")
app.conf.update(
    broker_url="filesystem://",
    broker_transport_options={
        "data_folder_in": os.path.join(DATA, "queue"),
        "data_folder_out": os.path.join(DATA, "queue"),
        "processed_folder": os.path.join(DATA, "processed"),
        "control_folder": os.path.join(DATA, "control"),
        "polling_interval": 0.1,
    },
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
)
asgi_lifecycle_celery.install(app)


@app.task(name="use")
def use():
    context = asgi_lifecycle_celery.current_context()
    record("task", database=context.state["database"], service_type=context.service_type)
"""
)


def project(directory: Path) -> None:
    """Write the temp project the worker runs in: its pyproject.toml, hooks and Celery app."""
    for name, text in {
        "pyproject.toml": PYPROJECT,
        "jobs_hooks.py": HOOKS,
        "jobs_app.py": APP,
    }.items():
        (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")
    assert "jobs_hooks" not in APP


def startups(events: list[Event]) -> list[Event]:
    return of(events, "startup")


@pytest.mark.parametrize(
    ("pool", "children", "variable", "environment"),
    [("prefork", 2, "", "staging"), ("solo", 1, "canary", "canary")],
    ids=["prefork-file", "solo-env-var"],
)
def test_worker_is_configured_by_the_file(
    harness: Harness, pool: str, children: int, variable: str, environment: str
) -> None:
    """A worker runs the hooks its pyproject.toml names, with the file's worker context."""
    project(harness.data)
    worker = harness.start_worker(
        pool,
        children,
        app="jobs_app",
        env={"ASGI_LIFECYCLE_ENV": variable},  # empty: unset
    )
    events = worker.wait_for("the startups", lambda ev: len(startups(ev)) == children)
    process = "pool-child" if pool == "prefork" else "worker"
    for event in startups(events):
        assert {k: v for k, v in event.items() if k != "pid"} == {
            "event": "startup",
            "service_type": "worker",
            "environment": environment,
            "dsn": "sqlite://jobs",
            "queue": "orders",
            "process": process,
            "budgets": [30.0, 12.0],
        }
    started = {event["pid"] for event in startups(events)}
    assert (worker.pid in started) == (pool == "solo")
    if pool == "prefork":  # Celery's limit on a child's start fits the file's startup budget
        assert "raised worker_proc_alive_timeout from 4 s to 34 s" in worker.output()

    harness.send("use")
    events = worker.wait_for("the task", lambda ev: len(of(ev, "task")) == 1)
    (task,) = of(events, "task")
    assert task["database"] == "sqlite://jobs/orders"
    assert task["service_type"] == "worker"
    assert task["pid"] in started

    assert worker.stop() == 0, worker.output()
    events = harness.events()
    assert {event["pid"] for event in of(events, "shutdown")} == started
    assert len(of(events, "shutdown")) == children
    assert events.index(task) < min(events.index(e) for e in of(events, "shutdown"))


# No startup budget in the file, only a default hook timeout: Celery's limit on a child's
# start (worker_proc_alive_timeout; see the README) is fitted to the hooks of the module
# the file names, which the app never imports.
BUDGET_PYPROJECT = """
[project]
name = "jobs"

[tool.asgi-lifecycle]
modules = ["jobs_hooks"]
timeout = 6
"""

BUDGET_HOOKS = (
    RECORD
    + """
from asgi_lifecycle import lifespan

record("imported")


@lifespan.on_start
def connect():
    record("startup")


@lifespan.on_start(timeout=1)
def warm():
    pass
"""
)


def test_the_limit_on_a_childs_start_counts_the_hooks_the_file_names(harness: Harness) -> None:
    """The main process reads the hooks' timeouts from the file's module, imported once."""
    for name, text in {
        "pyproject.toml": BUDGET_PYPROJECT,
        "jobs_hooks.py": BUDGET_HOOKS,
        "jobs_app.py": APP,
    }.items():
        (harness.data / name).write_text(textwrap.dedent(text), encoding="utf-8")
    worker = harness.start_worker("prefork", 2, app="jobs_app")
    events = worker.wait_for("the startups", lambda ev: len(startups(ev)) == 2)
    # 6 s for connect (the file's default), 1 s for warm, and Celery's 4 s for a child's set-up.
    assert "raised worker_proc_alive_timeout from 4 s to 11 s" in worker.output()
    # The main process imported the module, and ran none of its hooks; the forked children
    # kept the module and ran the hooks, once each.
    assert [event["pid"] for event in of(events, "imported")] == [worker.pid]
    started = [event["pid"] for event in startups(events)]
    assert worker.pid not in started
    assert len(set(started)) == 2
    assert worker.stop() == 0, worker.output()
