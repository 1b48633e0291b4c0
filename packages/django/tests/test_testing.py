"""The test-client helpers: the lifespan around a test, its state in Django's test clients."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase

from asgi_lifecycle import Lifespan, LifespanContext, StartupFailed, lifespan

from ._support import env_vars, read_events


def events(log: Path) -> list[str]:
    return [event for _, event in read_events(log)]


def test_lifecycle_client_gives_sync_requests_the_state(hooks_log: Path) -> None:
    """lifecycle_client runs the startup, requests see its state and context, then shutdown."""
    from asgi_lifecycle_django.testing import lifecycle_client

    with lifecycle_client() as client:
        assert lifespan.is_initialized()
        for path in ("/sync-items/", "/items/"):
            response = client.get(path)
            assert response.status_code == 200
            payload = json.loads(response.content)
            assert payload["catalog"]["names"] == ["seeded"]
            assert payload["signal"] == "from asgi_startup"
            assert (payload["service_type"], payload["environment"]) == ("app", "test")
        assert client.state["catalog"]["greeting"] == "hello from settings"
    assert not lifespan.is_initialized()
    assert events(hooks_log)[0] == "start app test"
    assert events(hooks_log)[-1] == "stop app test"


@pytest.mark.anyio
async def test_async_lifecycle_client_gives_async_requests_the_state(hooks_log: Path) -> None:
    """async_lifecycle_client puts the state in scope["state"], not in a header."""
    from asgi_lifecycle_django.testing import async_lifecycle_client

    async with async_lifecycle_client() as client:
        response = await client.get("/items/")
        assert response.status_code == 200
        payload = json.loads(response.content)
        assert payload["catalog"]["names"] == ["seeded"]
        assert payload["service_type"] == "app"
        request = response.asgi_request
        assert "state" in request.scope
        assert not any(name.lower() == b"state" for name, _ in request.scope["headers"])
    assert events(hooks_log)[-1] == "stop app test"


@pytest.mark.anyio
async def test_async_client_hooks_run_on_the_test_loop(django_setup: None) -> None:
    """With the async helper, resources are made on the test's loop, so views can use them."""
    import asyncio

    from asgi_lifecycle_django.testing import async_lifecycle_client

    lp = Lifespan()
    loops: list[asyncio.AbstractEventLoop] = []

    @lp.resource(key="loop_bound")
    async def loop_bound() -> Any:
        loops.append(asyncio.get_running_loop())
        yield asyncio.Lock()

    async with async_lifecycle_client(lifespan=lp, service_type="loops") as client:
        assert loops == [asyncio.get_running_loop()]
        async with client.state["loop_bound"]:
            pass


def test_requests_state_is_a_copy_per_request(hooks_log: Path) -> None:
    """Each request gets its own shallow copy of the state, as ASGI servers give."""
    from asgi_lifecycle_django.testing import lifecycle_client

    with lifecycle_client() as client:
        first = client.get("/sync-items/").wsgi_request
        second = client.get("/sync-items/").wsgi_request
        assert first.state == second.state  # type: ignore[attr-defined]
        assert first.state is not second.state  # type: ignore[attr-defined]
        assert first.state is not client.state  # type: ignore[attr-defined]
        assert first.state["catalog"] is client.state["catalog"]  # type: ignore[attr-defined]


def test_failing_startup_raises_startup_failed(hooks_log: Path) -> None:
    """A failing critical hook makes the helper raise StartupFailed, after the rollback."""
    from asgi_lifecycle_django.testing import lifecycle_client

    with (
        env_vars(DJL_FAIL_STARTUP="flaky"),
        pytest.raises(StartupFailed) as caught,
        lifecycle_client(),
    ):
        pytest.fail("the block ran although the startup failed")
    assert caught.value.hook == "djl_site.maybe_fail"
    assert "catalog teardown" in events(hooks_log)
    assert not lifespan.is_initialized()


def test_sync_hooks_run_in_the_test_thread(django_setup: None) -> None:
    """With the sync helper, sync hooks run in the test's own thread (its DB transaction)."""
    from asgi_lifecycle_django.testing import lifecycle_client

    lp = Lifespan()
    threads: list[threading.Thread] = []
    lp.add_start_hook(lambda: threads.append(threading.current_thread()), name="where")
    with lifecycle_client(lifespan=lp, service_type="threads"):
        pass
    assert threads == [threading.current_thread()]


def test_clients_without_a_context_give_empty_state(django_setup: None) -> None:
    """Without a run, request.state is empty and request.lifecycle is None."""
    from asgi_lifecycle_django.testing import LifecycleClient

    response = LifecycleClient().get("/sync-items/")
    assert response.status_code == 200
    payload = json.loads(response.content)
    assert payload["catalog"] is None
    assert payload["service_type"] is None


def test_explicit_context_is_passed_to_the_client(django_setup: None) -> None:
    """A LifecycleClient built with a context gives requests that context."""
    from asgi_lifecycle_django.testing import LifecycleClient

    context = LifespanContext("api", "staging")
    context.state["catalog"] = {"names": ["made by hand"]}
    response = LifecycleClient(context=context).get("/sync-items/")
    payload = json.loads(response.content)
    assert payload["catalog"] == {"names": ["made by hand"]}
    assert (payload["service_type"], payload["environment"]) == ("api", "staging")


@pytest.mark.usefixtures("hooks_log")
class TestInDjangoTestCase(TestCase):
    """The sync helper inside Django's own TestCase."""

    def test_sync_hooks_share_the_test_transaction(self) -> None:
        """Sync hooks run inside the TestCase's transaction, which stays usable after them."""
        from django.db import connection
        from djl_shop.models import Item

        from asgi_lifecycle_django.testing import lifecycle_client

        lp = Lifespan()
        seen: list[bool] = []

        @lp.on_start
        def make_row() -> None:
            seen.append(connection.in_atomic_block)
            Item.objects.create(name="made in a TestCase")

        with lifecycle_client(lifespan=lp, service_type="testcase") as client:
            assert client.get("/sync-items/").status_code == 200
        assert seen == [True]
        assert Item.objects.filter(name="made in a TestCase").exists()
