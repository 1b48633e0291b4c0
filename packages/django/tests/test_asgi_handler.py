"""The ASGI handler in process: the lifespan protocol, state, context, connections."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import pytest

from asgi_lifecycle import Lifespan, LifespanContext, lifespan

from ._support import LifespanDriver, env_vars, read_events

pytestmark = pytest.mark.anyio


def events(log: Path) -> list[str]:
    return [event for _, event in read_events(log)]


async def test_startup_publishes_state_and_requests_see_it(hooks_log: Path) -> None:
    """Startup runs the hooks, publishes their state, and views see state, context and the ORM."""
    from asgi_lifecycle_django import get_asgi_application

    driver = LifespanDriver(get_asgi_application(), state={})
    assert await driver.startup() == {"type": "lifespan.startup.complete"}
    assert driver.state is not None
    assert driver.state["catalog"]["greeting"] == "hello from settings"
    assert driver.state["signal"] == "from asgi_startup"

    for path in ("/items/", "/sync-items/"):
        status, body = await driver.get(path)
        assert status == 200, body
        payload = json.loads(body)
        assert payload["catalog"]["names"] == ["seeded"]
        assert payload["count"] >= 1
        assert (payload["service_type"], payload["environment"]) == ("app", "test")

    assert await driver.shutdown() == {"type": "lifespan.shutdown.complete"}
    assert await driver.finished() is None
    assert events(hooks_log) == [
        "start app test",
        "seed",
        "catalog setup",
        "count_async 1",
        "signal startup sync",
        "signal startup async app",
        "signal shutdown sync",
        "signal shutdown async",
        "catalog teardown",
        "farewell 1",
        "stop app test",
    ]
    assert [m["type"] for m in driver.sent if m["type"].startswith("lifespan.")] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


async def test_connections_opened_by_startup_are_closed(hooks_log: Path) -> None:
    """The database connection a sync hook opened at startup is closed when startup ends."""
    from asgi_lifecycle_django import get_asgi_application

    handler = get_asgi_application()
    driver = LifespanDriver(handler, state={})
    assert await driver.startup() == {"type": "lifespan.startup.complete"}
    assert handler.context is not None
    raw = handler.context.get_metadata("seed_connection")
    assert isinstance(raw, sqlite3.Connection)
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        raw.execute("select 1")
    await driver.shutdown()
    assert await driver.finished() is None


async def test_failing_critical_hook_sends_one_failed_and_raises(hooks_log: Path) -> None:
    """A failing critical hook: one startup.failed with the traceback, rollback, and a raise."""
    from asgi_lifecycle import StartupFailed
    from asgi_lifecycle_django import get_asgi_application

    driver = LifespanDriver(get_asgi_application(), state={})
    with env_vars(DJL_FAIL_STARTUP="no database"):
        answer = await driver.startup()
    assert answer["type"] == "lifespan.startup.failed"
    assert "Traceback" in answer["message"]
    assert "RuntimeError: refusing to start: no database" in answer["message"]
    error = await driver.finished()
    assert isinstance(error, StartupFailed)
    assert error.hook == "djl_site.maybe_fail"
    assert [m["type"] for m in driver.sent] == ["lifespan.startup.failed"]
    assert events(hooks_log)[-3:] == ["catalog teardown", "farewell 1", "stop app test"]
    assert not lifespan.is_initialized()


async def test_failing_startup_receiver_fails_the_startup(hooks_log: Path) -> None:
    """An asgi_startup receiver that raises fails the startup like a critical hook."""
    from asgi_lifecycle_django import get_asgi_application

    driver = LifespanDriver(get_asgi_application(), state={})
    with env_vars(DJL_FAIL_SIGNAL="1"):
        answer = await driver.startup()
    assert answer["type"] == "lifespan.startup.failed"
    assert "asgi_startup receiver refuses" in answer["message"]
    assert await driver.finished() is not None
    assert "catalog teardown" in events(hooks_log)
    assert not lifespan.is_initialized()


async def test_cancelled_startup_still_answers_failed(django_setup: None) -> None:
    """A CancelledError during startup still produces startup.failed before it propagates."""
    from asgi_lifecycle_django import get_asgi_application

    lp = Lifespan()

    @lp.on_start
    async def cancelled() -> None:
        raise asyncio.CancelledError

    driver = LifespanDriver(get_asgi_application(lifespan=lp), state={})
    answer = await driver.startup()
    assert answer["type"] == "lifespan.startup.failed"
    assert "CancelledError" in answer["message"]
    assert isinstance(await driver.finished(), asyncio.CancelledError)
    assert [m["type"] for m in driver.sent] == ["lifespan.startup.failed"]


async def test_server_without_state_fails_loudly_when_hooks_publish(django_setup: None) -> None:
    """A server that offers no lifespan state fails the startup if hooks publish state."""
    from asgi_lifecycle_django import get_asgi_application

    lp = Lifespan()
    stopped: list[str] = []

    @lp.resource
    async def client() -> object:
        yield "a client"
        stopped.append("client")

    driver = LifespanDriver(get_asgi_application(lifespan=lp), state=None)
    answer = await driver.startup()
    assert answer["type"] == "lifespan.startup.failed"
    assert "no 'state'" in answer["message"]
    assert "client" in answer["message"]
    assert await driver.finished() is not None
    assert stopped == ["client"]


async def test_server_without_state_is_fine_when_nothing_is_published(
    django_setup: None,
) -> None:
    """Without lifespan state the hooks still run when they publish nothing."""
    from asgi_lifecycle_django import get_asgi_application

    lp = Lifespan()
    ran: list[str] = []
    lp.add_start_hook(lambda: ran.append("start"), name="start")
    lp.add_shutdown_hook(lambda: ran.append("stop"), name="stop")

    handler = get_asgi_application(lifespan=lp, service_type="bare")
    driver = LifespanDriver(handler, state=None)
    assert await driver.startup() == {"type": "lifespan.startup.complete"}
    assert await driver.shutdown() == {"type": "lifespan.shutdown.complete"}
    assert ran == ["start", "stop"]


async def test_failing_shutdown_hook_answers_shutdown_failed(django_setup: None) -> None:
    """A failing shutdown hook gives one shutdown.failed naming it; the others still run."""
    from asgi_lifecycle_django import get_asgi_application

    lp = Lifespan()
    ran: list[str] = []

    @lp.on_shutdown(priority=1)
    def broken() -> None:
        raise ValueError("cannot flush")

    @lp.on_shutdown(priority=0)
    def last() -> None:
        ran.append("last")

    driver = LifespanDriver(get_asgi_application(lifespan=lp), state={})
    assert await driver.startup() == {"type": "lifespan.startup.complete"}
    answer = await driver.shutdown()
    assert answer["type"] == "lifespan.shutdown.failed"
    assert "broken" in answer["message"]
    assert "cannot flush" in answer["message"]
    assert ran == ["last"]
    assert [m["type"] for m in driver.sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.failed",
    ]


async def test_lifespan_call_stays_alive_until_shutdown(django_setup: None) -> None:
    """After startup.complete the lifespan call keeps running until lifespan.shutdown."""
    from asgi_lifecycle_django import get_asgi_application

    driver = LifespanDriver(get_asgi_application(lifespan=Lifespan()), state={})
    await driver.startup()
    await asyncio.sleep(0.05)
    assert driver.task is not None
    assert not driver.task.done()
    await driver.shutdown()
    assert await driver.finished() is None


async def test_request_before_startup_warns_once(
    django_setup: None, caplog: pytest.LogCaptureFixture
) -> None:
    """An http request before any lifespan startup logs one loud warning; requests still work."""
    from asgi_lifecycle_django import get_asgi_application

    driver = LifespanDriver(get_asgi_application(lifespan=Lifespan()), state={})
    with caplog.at_level(logging.WARNING, logger="asgi_lifecycle"):
        for _ in range(3):
            status, body = await driver.get("/sync-items/")
            assert status == 200, body
            assert json.loads(body)["service_type"] is None
    warnings = [r for r in caplog.records if "before any lifespan startup" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


async def test_hook_modules_that_do_not_import_stop_the_entry_point(django_setup: None) -> None:
    """get_asgi_application refuses to start when a hook module failed to import."""
    from django.core.exceptions import ImproperlyConfigured

    from asgi_lifecycle_django import _discovery, get_asgi_application

    missing = "djl_site.no_such_lifecycle_module"
    _discovery._import(missing, "a test")
    try:
        with pytest.raises(ImproperlyConfigured, match=missing):
            get_asgi_application()
    finally:
        del _discovery._attempted[missing]


async def test_overrides_replace_the_settings(django_setup: None) -> None:
    """Arguments of get_asgi_application override SERVICE_TYPE, ENVIRONMENT and CONFIG."""
    from asgi_lifecycle_django import get_asgi_application

    lp = Lifespan()
    seen: list[LifespanContext] = []
    lp.add_start_hook(seen.append, name="see", service_types="worker")
    handler = get_asgi_application(
        lifespan=lp, service_type="worker", environment="staging", config={"a": 1}
    )
    driver = LifespanDriver(handler, state={})
    await driver.startup()
    assert [(c.service_type, c.environment, c.get_config("a")) for c in seen] == [
        ("worker", "staging", 1)
    ]
    assert handler.context is seen[0]
    await driver.shutdown()


async def test_a_sync_hook_after_a_timed_out_one_is_named_in_the_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The warning about a sync hook moved off asgiref's thread names that hook, not a partial."""
    import threading

    from asgi_lifecycle_django._hooks import sync_runner

    release = threading.Event()
    lp = Lifespan()

    @lp.on_start(name="stuck", timeout=0.2, critical=False)
    def stuck() -> None:
        release.wait(5)

    @lp.on_start(name="orm_after")
    def orm_after() -> None: ...

    try:
        await lp.startup(LifespanContext("app", "test"), sync_runner=sync_runner)
    finally:
        release.set()
    warning = next(r.getMessage() for r in caplog.records if "thread of its own" in r.getMessage())
    assert "'orm_after' runs on a thread of its own" in warning
    assert "partial" not in warning
    await lp.shutdown(LifespanContext("app", "test"))
