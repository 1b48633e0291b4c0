"""The contract suite, against a Celery worker's lifespan run in-process."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from celery import Celery

import asgi_lifecycle_celery
from asgi_lifecycle import Lifespan, LifespanContext, StartupFailed
from asgi_lifecycle_testing import (
    Capabilities,
    LifecycleContract,
    NativeStartupFailure,
    Observation,
    Settings,
)

_apps = itertools.count()


class CeleryRunning:
    """A worker lifespan running in this process; each unit of work is one real task."""

    def __init__(self, task: Any) -> None:
        self.task = task

    async def perform(self) -> Observation:
        """Run the task with ``apply()`` in a worker thread, as a pool would, and return it."""
        result: Observation = await asyncio.to_thread(lambda: self.task.apply().get())
        return result


class CeleryHarness:
    """``install(app, ...)`` on a Celery app, then `in_process(app)` around the test."""

    @contextlib.asynccontextmanager
    async def run(self, lifespan: Lifespan, settings: Settings, /) -> AsyncIterator[CeleryRunning]:
        app = Celery(f"contract{next(_apps)}", broker="memory://", backend="cache+memory://")
        asgi_lifecycle_celery.install(
            app,
            service_type=settings.service_type,
            environment=settings.environment,
            config=settings.config,
            lifespan=lifespan,
        )

        @app.task
        def observe() -> Observation:
            context: LifespanContext = asgi_lifecycle_celery.current_context()
            return Observation(state=dict(context.state), context=context)

        running: contextlib.AbstractContextManager[LifespanContext] = (
            asgi_lifecycle_celery.in_process(app)
        )
        try:
            await asyncio.to_thread(running.__enter__)
        except StartupFailed as failure:
            # Celery's native report of a failed worker startup is the logged error and a
            # worker that stops: in-process, the StartupFailed that in_process() raises.
            raise NativeStartupFailure(str(failure), channel="in_process() raised") from failure
        try:
            yield CeleryRunning(observe)
        finally:
            await asyncio.to_thread(running.__exit__, None, None, None)


class TestCeleryContract(LifecycleContract):
    """A Celery worker's lifespan keeps the whole promise."""

    @pytest.fixture
    def harness(self) -> CeleryHarness:
        return CeleryHarness()

    @pytest.fixture
    def capabilities(self) -> Capabilities:
        # A failed shutdown is logged by the worker, never raised; one worker lifespan
        # runs per process; a worker serves no HTTP, so no health endpoint (its probe is a
        # readiness file, tested with real workers).
        return Capabilities(
            context_in_work=True,
            reports_shutdown_failure=False,
            overlapping_runs=False,
            health_endpoint=False,
        )
