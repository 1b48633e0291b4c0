"""What ran where: every hook result and state of this process, as JSON lines, for `run.py`.

A real service would send these to its metrics or its logs; the demo's runner names a file
in ``$SHOP_EVENTS`` and reads it back to print, per process, which hooks ran, how they ended
and how long they took. Without that variable nothing is recorded.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from asgi_lifecycle import HookResult, LifecycleListener, LifecycleState, Lifespan, LifespanContext

RECORDER = "recorder.process"  # the name of the recorder's own hook; the runner hides it


class _Recorder(LifecycleListener):
    """Writes the results and the states of one process's runs to the events file."""

    def __init__(self, lifespan: Lifespan, path: str) -> None:
        self.lifespan = lifespan
        self.path = path
        self.process: dict[str, Any] = {}
        self.failed = False  # a critical startup hook failed: what follows is the rollback

    async def identify(self, context: LifespanContext) -> AsyncIterator[None]:
        # The first hook of every run: a result does not say which run it belongs to.
        self.process = {
            "label": os.environ.get("SHOP_PROCESS", "?"),
            "pid": os.getpid(),
            "service_type": context.service_type,
            "environment": context.environment,
            "celery": context.get_metadata("celery.process"),
        }
        self.failed = False
        yield

    def state_changed(self, service_type: str, environment: str, state: LifecycleState) -> None:
        # What its probes answer from: starting, ready, draining (from SIGTERM on), stopped.
        self.write(phase="state", hook=RECORDER, state=str(state), service_type=service_type)
        if state is LifecycleState.READY:
            self.write(phase="ready", hook=RECORDER)

    def hook_finished(self, result: HookResult) -> None:
        hook = result.hook
        starting = result.action in ("start", "setup")
        if starting and not result.ok and hook.critical:
            self.failed = True
        phase = "startup" if starting else "rollback" if self.failed else "shutdown"
        error = result.error
        self.write(
            phase=phase,
            hook=hook.name,
            priority=hook.priority,
            action=result.action,
            outcome=result.outcome,
            started=result.started,
            duration=result.duration,
            error=None if error is None else f"{type(error).__name__}: {error}",
        )

    def write(self, **fields: Any) -> None:
        # "starting" comes before the first hook has said which run this is.
        process = self.process or {
            "label": os.environ.get("SHOP_PROCESS", "?"),
            "pid": os.getpid(),
            "service_type": "?",
            "environment": "?",
            "celery": None,
        }
        event = {**process, **fields, "ended_at": time.time()}
        # One write to a file opened for appending: lines from many processes stay whole.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(event) + "\n").encode())
        finally:
            os.close(fd)


def install(lifespan: Lifespan) -> None:
    """Record every hook result of ``lifespan`` in ``$SHOP_EVENTS``, if it is set."""
    path = os.environ.get("SHOP_EVENTS")
    if not path:
        return
    recorder = _Recorder(lifespan, path)
    # A resource in a phase of its own before every other: it starts first and stops last.
    lifespan.add_resource(recorder.identify, priority=-1, name=RECORDER)
    lifespan.add_listener(recorder)
