"""The one seam between the contract and an adapter: the harness."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from asgi_lifecycle import Lifespan, LifespanContext

__all__ = (
    "Harness",
    "HealthAnswer",
    "NativeFailure",
    "NativeShutdownFailure",
    "NativeStartupFailure",
    "Observation",
    "Running",
    "Settings",
)


@dataclass(frozen=True, slots=True)
class Settings:
    """How the contract wants the adapter configured for one run.

    The harness passes these through the framework's own configuration (the
    adapter's arguments, Django settings, Celery config), exactly as a user would,
    so that the contract checks that the adapter builds its context from them.

    Attributes:
        service_type: The run's service type.
        environment: The run's environment.
        config: The mapping hooks read with ``context.get_config``.
        health_token: The token of the adapter's health endpoint (requests with
            ``Authorization: Bearer <token>`` see error details), or ``None``.
    """

    service_type: str = "app"
    environment: str = "test"
    config: Mapping[str, Any] = field(default_factory=dict)
    health_token: str | None = None

    def __post_init__(self) -> None:
        for name in ("service_type", "environment"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise TypeError(f"Settings({name}=...) must be a non-empty string, got {value!r}")
        if not isinstance(self.config, Mapping):
            raise TypeError(f"Settings(config=...) must be a mapping, got {self.config!r}")
        if self.health_token is not None and not isinstance(self.health_token, str):
            raise TypeError(
                f"Settings(health_token=...) must be a string or None, got {self.health_token!r}"
            )

    def context(self) -> LifespanContext:
        """Return a fresh `LifespanContext` with these settings."""
        return LifespanContext(self.service_type, self.environment, self.config)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one unit of work (a request, a task) saw from inside the framework.

    Attributes:
        state: The run's state as the handler could read it (``request.state``,
            the ASGI ``scope["state"]``, what a task is handed), as a mapping.
        context: The `LifespanContext` the framework handed to the unit of work,
            for adapters that do (a dependency, a task argument); else ``None``.
        details: Anything else the harness wants to report, for its own tests.
    """

    state: Mapping[str, Any]
    context: LifespanContext | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HealthAnswer:
    """What the adapter's health endpoint answered to one probe.

    Attributes:
        status: The HTTP status (200, 503, 401...).
        body: The response body, decoded.
    """

    status: int
    body: str

    def json(self) -> Any:
        """The body, parsed as JSON."""
        import json

        return json.loads(self.body)


@runtime_checkable
class Running(Protocol):
    """A framework started by `Harness.run`, with the adapter installed."""

    async def perform(self) -> Observation:
        """Run one unit of work inside the framework and return what it saw.

        A web adapter serves one request to a handler of its own; a task queue
        runs one task. The handler records what it can read (see `Observation`).
        Raise (an ``AssertionError`` with the reason is best) if the unit of work
        fails.

        A `Running` whose adapter serves health probes (``Capabilities.health_endpoint``)
        also has ``async def health(self, probe: str, *, authorization: str | None =
        None) -> HealthAnswer``: it requests the adapter's endpoint for ``probe``
        (``"ready"``, ``"live"``, or ``""`` for the endpoint's own path), with that
        ``Authorization`` header, the way a load balancer would.
        """
        ...


@runtime_checkable
class Harness(Protocol):
    """Starts and stops a framework with the adapter under test installed.

    The single seam of the contract suite: an adapter's test module returns one
    from its ``harness`` fixture. Both arguments are positional.

    ``run(lifespan, settings)`` returns an async context manager that:

    1. builds the framework's app, worker or process object with the adapter
       installed so that it runs **this** ``lifespan`` (never the process-wide
       one) with these ``settings``;
    2. starts it the framework's native way (the ASGI lifespan protocol, the
       worker's startup signals) and yields a `Running` once it serves;
    3. on exit stops it the native way, and returns once the stop is complete.

    Everything runs in this process (a harness may run blocking framework code
    in a thread, as a Celery worker needs), so hooks and the unit of work share
    objects with the test.

    Failures must be reported as the framework reports them, then translated:

    - When the framework refuses to start (ASGI: ``lifespan.startup.failed``;
      a worker: it stops instead of serving), raise `NativeStartupFailure`
      carrying the framework's own failure text, after the framework finished
      everything it does on a failed start (including any stop path it runs).
      Never raise it for a bare exception the framework did not report itself:
      then let that exception through, and the contract fails, as it should.
    - When the framework reports a failed shutdown natively (ASGI:
      ``lifespan.shutdown.failed``), raise `NativeShutdownFailure` on exit. An
      adapter whose framework has no such report declares
      ``Capabilities(reports_shutdown_failure=False)`` and raises nothing.

    `ASGIHarness` implements all of this for ASGI apps; `ReferenceHarness` is
    the worked example.
    """

    def run(
        self, lifespan: Lifespan, settings: Settings, /
    ) -> AbstractAsyncContextManager[Running]:
        """Return an async context manager that runs the framework (see the class)."""
        ...


class NativeFailure(Exception):
    """A failure the framework reported in its own, native way.

    Attributes:
        message: The framework's failure text (for ASGI, the ``message`` of the
            ``...failed`` event), which names the failing hook.
        channel: How the framework reported it, e.g. ``"lifespan.startup.failed"``
            or ``"worker exited with status 1"``.
    """

    def __init__(self, message: str, *, channel: str) -> None:
        super().__init__(f"{channel}: {message}")
        self.message = message
        self.channel = channel


class NativeStartupFailure(NativeFailure):
    """The framework refused to start, and said so natively; raised by `Harness.run`."""


class NativeShutdownFailure(NativeFailure):
    """The framework reported a failed shutdown natively; raised when `Harness.run` exits."""
