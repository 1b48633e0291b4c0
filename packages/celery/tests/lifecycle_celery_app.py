"""The Celery app that the tests run in real ``celery worker`` and ``celery beat`` processes.

Hooks and tasks append one JSON line per event to ``$ALC_TEST_DATA/events.jsonl``,
so the tests read back what ran in which process.

Environment:
    ALC_TEST_DATA: the folder of the filesystem broker and of the events file.
    ALC_TEST_FAIL: a service type whose critical startup hook raises ("supervisor": the
        supervisor's hook).
    ALC_TEST_SUPERVISOR: when set, hooks also run once in the worker's main process.
    ALC_TEST_HEALTH_FILE: the worker's readiness file (``install(health_file=...)``); the
        client's health check fails while ``$ALC_TEST_DATA/fail-check`` exists.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from celery import Celery

import asgi_lifecycle_celery
from asgi_lifecycle import Lifespan, LifespanContext

DATA = os.environ["ALC_TEST_DATA"]
FAIL = os.environ.get("ALC_TEST_FAIL", "")
EVENTS = os.path.join(DATA, "events.jsonl")


def record(event: str, **fields: Any) -> None:
    """Append one event; a single O_APPEND write keeps lines from processes whole."""
    line = json.dumps(
        {"event": event, "pid": os.getpid(), "ppid": os.getppid(), "at": time.time(), **fields}
    )
    fd = os.open(EVENTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


class Client:
    """An async client bound to the loop it was made on, like a real connection pool."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.closed = False

    async def double(self, x: int) -> int:
        if asyncio.get_running_loop() is not self.loop:
            raise RuntimeError("client used on another event loop than the one it was made on")
        if self.closed:
            raise RuntimeError("client used after it was closed")
        await asyncio.sleep(0)
        return 2 * x

    async def aclose(self) -> None:
        self.closed = True


lifespan = Lifespan(startup_timeout=10.0)
supervisor = Lifespan(startup_timeout=10.0)


@lifespan.resource(key="client")
async def client(context: LifespanContext) -> AsyncIterator[Client]:
    """Open the client at startup and close it at shutdown, on the process's one loop."""
    process = context.get_metadata("celery.process")
    record("startup", service_type=context.service_type, process=process)
    if context.service_type == FAIL:
        raise RuntimeError("database unreachable")
    opened = Client()
    yield opened
    await opened.aclose()
    record("shutdown", service_type=context.service_type, process=process)


@supervisor.on_start
def supervisor_start(context: LifespanContext) -> None:
    """Record the once-per-worker startup."""
    record("supervisor-startup", service_type=context.service_type)
    if FAIL == "supervisor":
        raise RuntimeError("database unreachable")


@supervisor.on_shutdown
def supervisor_stop(context: LifespanContext) -> None:
    """Record the once-per-worker shutdown."""
    record("supervisor-shutdown", service_type=context.service_type)


app = Celery("lifecycle_celery_app")
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
    beat_schedule={"tick": {"task": "tick", "schedule": 0.5}},
)


@lifespan.health_check(resource=client)
def client_reachable(opened: Client) -> None:
    """Fail, with a DSN in the error, while the test's fail-check file exists."""
    if opened.closed or os.path.exists(os.path.join(DATA, "fail-check")):
        raise ConnectionError("cannot reach postgres://worker:s3cret@db.internal/jobs")


asgi_lifecycle_celery.install(
    app,
    lifespan=lifespan,
    supervisor=supervisor if os.environ.get("ALC_TEST_SUPERVISOR") else None,
    health_file=os.environ.get("ALC_TEST_HEALTH_FILE") or None,
)


def use_client(x: int) -> int:
    """Read the state and use the startup's async client through run()."""
    context = asgi_lifecycle_celery.current_context()
    client: Client = context.state["client"]
    result = asgi_lifecycle_celery.run(client.double(x), timeout=10)
    record(
        "task",
        x=x,
        result=result,
        service_type=context.service_type,
        thread=threading.current_thread().name,
    )
    return result


@app.task(name="use")
def use(x: int) -> int:
    """Use the client at once."""
    return use_client(x)


@app.task(name="slow_use")
def slow_use(x: int) -> int:
    """Like use(), after a pause long enough for a SIGTERM to arrive while it runs."""
    record("slow-start")
    time.sleep(1.0)
    return use_client(x)


@app.task(name="gated")
def gated() -> None:
    """Run until the test creates ``$ALC_TEST_DATA/release`` (bounded), as a long task does."""
    record("gated-start")
    deadline = time.monotonic() + 30
    while not os.path.exists(os.path.join(DATA, "release")) and time.monotonic() < deadline:
        time.sleep(0.05)
    record("gated-done")


@app.task(name="block")
def block() -> None:
    """Stay busy until the test kills this process."""
    record("blocking")
    time.sleep(120)


@app.task(name="tick")
def tick() -> None:
    """Beat's scheduled task."""
