"""The WSGI handler in process: hooks once per process, state and context per request."""

from __future__ import annotations

import json
import signal
import threading
import wsgiref.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asgi_lifecycle import Lifespan, StartupFailed, lifespan

from ._support import env_vars, read_events


@pytest.fixture(autouse=True)
def keep_sigterm_handler() -> Iterator[None]:
    """The handler may install a SIGTERM handler in this process: put the old one back."""
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def get(application: Any, path: str) -> tuple[str, dict[str, Any]]:
    environ: dict[str, Any] = {"PATH_INFO": path, "HTTP_HOST": "testserver"}
    wsgiref.util.setup_testing_defaults(environ)
    statuses: list[str] = []
    body = b"".join(application(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], json.loads(body)


def events(log: Path) -> list[str]:
    return [event for _, event in read_events(log)]


def test_startup_on_creation_state_per_request_shutdown_on_close(hooks_log: Path) -> None:
    """The startup runs when the application is made; requests see state; close() shuts down."""
    from asgi_lifecycle_django import get_wsgi_application

    application = get_wsgi_application()
    try:
        assert lifespan.is_initialized()
        assert events(hooks_log)[-1] == "signal startup async app"
        for path in ("/sync-items/", "/items/"):
            status, payload = get(application, path)
            assert status == "200 OK"
            assert payload["catalog"]["names"] == ["seeded"]
            assert payload["signal"] == "from asgi_startup"
            assert (payload["service_type"], payload["environment"]) == ("app", "test")
    finally:
        report = application.close()
    assert report is not None
    assert report.ok
    assert application.close() is None  # only once
    assert events(hooks_log)[-1] == "stop app test"
    assert not lifespan.is_initialized()


def test_async_resources_live_on_one_loop_for_the_whole_run(django_setup: None) -> None:
    """Async resources stay usable from sync views through the runner's loop."""
    import asyncio

    from asgi_lifecycle_django import get_wsgi_application

    lp = Lifespan()

    @lp.resource(key="queue")
    async def queue() -> Any:
        yield asyncio.Queue()

    application = get_wsgi_application(lifespan=lp, service_type="wsgi-loop")
    try:
        shared = application.context.state["queue"]

        async def roundtrip() -> str:
            await shared.put("ping")
            return str(await shared.get())

        assert application.runner.call(roundtrip()) == "ping"
    finally:
        application.close()


def test_failing_startup_raises_when_the_application_is_made(hooks_log: Path) -> None:
    """A failing critical hook makes get_wsgi_application raise, after the rollback."""
    from asgi_lifecycle_django import get_wsgi_application

    with env_vars(DJL_FAIL_STARTUP="no queue"), pytest.raises(StartupFailed) as caught:
        get_wsgi_application()
    assert "refusing to start: no queue" in str(caught.value)
    assert events(hooks_log)[-1] == "stop app test"
    assert not lifespan.is_initialized()


def test_sigterm_handler_is_installed_only_when_nobody_handles_it(django_setup: None) -> None:
    """SIGTERM becomes an exit (so the shutdown runs) only if it had no handler yet."""
    from asgi_lifecycle_django import get_wsgi_application

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    application = get_wsgi_application(lifespan=Lifespan(), service_type="sig")
    application.close()
    installed = signal.getsignal(signal.SIGTERM)
    assert callable(installed)
    with pytest.raises(SystemExit):
        installed(signal.SIGTERM, None)

    def mine(signum: int, frame: object) -> None:
        pass

    signal.signal(signal.SIGTERM, mine)
    get_wsgi_application(lifespan=Lifespan(), service_type="sig2").close()
    assert signal.getsignal(signal.SIGTERM) is mine


def test_made_in_a_thread_installs_no_signal_handler(django_setup: None) -> None:
    """Made outside the main thread (runserver's autoreloader), it leaves SIGTERM alone."""
    from asgi_lifecycle_django import get_wsgi_application

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    errors: list[BaseException] = []

    def make() -> None:
        try:
            get_wsgi_application(lifespan=Lifespan(), service_type="thread").close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=make)
    worker.start()
    worker.join(30)
    assert not worker.is_alive()
    assert errors == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
