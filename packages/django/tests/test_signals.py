"""The asgi_startup and asgi_shutdown signals: sync and async receivers, failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from asgi_lifecycle import Lifespan
from asgi_lifecycle_django import asgi_shutdown, asgi_startup, run_lifecycle


@pytest.fixture
def received(django_setup: None) -> Iterator[list[tuple[str, Any]]]:
    """Receivers (sync and async) that record what they got; disconnected afterwards."""
    calls: list[tuple[str, Any]] = []

    def sync_start(sender: Any, **kwargs: Any) -> None:
        calls.append(("sync start", kwargs["context"].service_type))

    async def async_start(sender: Any, **kwargs: Any) -> None:
        calls.append(("async start", sender.label))

    def sync_stop(sender: Any, **kwargs: Any) -> None:
        calls.append(("sync stop", threading.current_thread().name))

    async def async_stop(sender: Any, **kwargs: Any) -> None:
        calls.append(("async stop", sorted(kwargs["scope"]["state"])))

    pairs = [
        (asgi_startup, sync_start),
        (asgi_startup, async_start),
        (asgi_shutdown, sync_stop),
        (asgi_shutdown, async_stop),
    ]
    for signal, receiver in pairs:
        signal.connect(receiver, weak=False, dispatch_uid=f"test-{receiver.__name__}")
    yield calls
    for signal, receiver in pairs:
        signal.disconnect(dispatch_uid=f"test-{receiver.__name__}")


def test_sync_and_async_receivers_get_both_signals(received: list[tuple[str, Any]]) -> None:
    """Sync and async receivers get asgi_startup after the hooks and asgi_shutdown before."""
    lp = Lifespan()
    order: list[str] = []

    @lp.resource(key="client")
    def client() -> Iterator[str]:
        order.append("setup")
        yield "a client"
        order.append("teardown")

    with run_lifecycle(lifespan=lp, service_type="signals") as runner:
        assert sorted(received) == [
            ("async start", "asgi_lifecycle_django"),
            ("sync start", "signals"),
        ]
        assert runner.context.state == {"client": "a client"}
        order.append("body")
    assert order == ["setup", "body", "teardown"]
    stops = [call for call in received if call[0].endswith("stop")]
    assert ("async stop", ["client"]) in stops
    assert [name for name, _ in stops if name == "sync stop"] == ["sync stop"]


def test_failing_shutdown_receiver_is_reported_and_the_rest_runs(
    received: list[tuple[str, Any]],
) -> None:
    """A shutdown receiver that raises is reported; other receivers and hooks still run."""
    lp = Lifespan()
    ran: list[str] = []
    lp.add_shutdown_hook(lambda: ran.append("hook"), name="hook")

    def broken(sender: Any, **kwargs: Any) -> None:
        raise OSError("cannot flush")

    asgi_shutdown.connect(broken, weak=False, dispatch_uid="test-broken")
    try:
        with run_lifecycle(lifespan=lp, service_type="signals") as runner:
            pass
    finally:
        asgi_shutdown.disconnect(dispatch_uid="test-broken")
    assert ran == ["hook"]
    assert {name for name, _ in received} >= {"sync stop", "async stop"}
    assert runner.report is not None
