"""install(), current_context(), run() and in_process(), within the test process."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from celery import Celery

import asgi_lifecycle_celery
from asgi_lifecycle import Lifespan, LifespanContext, StartupFailed


@pytest.fixture
def app() -> Celery:
    """An app of the test's own; Celery's signals are global, the adapter filters by app."""
    return Celery("test-app", set_as_current=False)


@pytest.fixture
def lp() -> Lifespan:
    """A registry of the test's own."""
    return Lifespan()


def test_install_twice_says_so(app: Celery, lp: Lifespan, caplog: pytest.LogCaptureFixture) -> None:
    """Installing twice with the same settings does nothing and logs that it is installed."""
    asgi_lifecycle_celery.install(app, lifespan=lp)
    with caplog.at_level(logging.INFO, logger="asgi_lifecycle.celery"):
        asgi_lifecycle_celery.install(app, lifespan=lp)
    assert "already installed" in caplog.text
    steps = sorted(step.name for step in app.steps["worker"] if "asgi_lifecycle" in str(step))
    assert steps == ["asgi_lifecycle_celery.Lifecycle", "asgi_lifecycle_celery.Pool"]


def test_install_again_with_other_settings_is_an_error(app: Celery, lp: Lifespan) -> None:
    """Installing again with other settings raises instead of ignoring them."""
    asgi_lifecycle_celery.install(app, lifespan=lp)
    with pytest.raises(ValueError, match=r"already installed.*service_type='worker'"):
        asgi_lifecycle_celery.install(app, lifespan=lp, service_type="jobs")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"service_type": ""}, r"install\(service_type=\.\.\.\) must be a non-empty string"),
        ({"beat_service_type": 3}, r"install\(beat_service_type=\.\.\.\)"),
        ({"environment": ""}, r"install\(environment=\.\.\.\)"),
        ({"config": ["a"]}, r"install\(config=\.\.\.\) must be a mapping"),
        ({"lifespan": object()}, r"install\(lifespan=\.\.\.\) must be an asgi_lifecycle.Lifespan"),
        ({"supervisor": object()}, r"install\(supervisor=\.\.\.\)"),
    ],
)
def test_bad_arguments_are_named(app: Celery, kwargs: dict[str, Any], message: str) -> None:
    """A wrong argument raises a TypeError naming it."""
    with pytest.raises(TypeError, match=message):
        asgi_lifecycle_celery.install(app, **kwargs)


def test_install_needs_a_celery_app() -> None:
    """Something else than a Celery app is refused with a clear error."""
    with pytest.raises(TypeError, match=r"needs the Celery app"):
        asgi_lifecycle_celery.install(object())  # type: ignore[arg-type]


def test_supervisor_must_be_another_lifespan(app: Celery, lp: Lifespan) -> None:
    """The supervisor's registry cannot be the one whose hooks run in every child."""
    with pytest.raises(ValueError, match="Lifespan of its own"):
        asgi_lifecycle_celery.install(app, lifespan=lp, supervisor=lp)


def test_current_context_outside_a_running_lifespan_names_the_fix() -> None:
    """current_context() without a running lifespan says how to run one."""
    with pytest.raises(RuntimeError, match=r"install\(app\).*in_process\(app\)"):
        asgi_lifecycle_celery.current_context()


def test_run_outside_a_running_lifespan_closes_the_coroutine() -> None:
    """run() without a running lifespan raises and closes the coroutine it was given."""

    async def work() -> int:
        return 1

    coro = work()
    with pytest.raises(RuntimeError, match=r"run\(\) from a task"):
        asgi_lifecycle_celery.run(coro)
    assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED


def test_in_process_runs_tasks_with_the_state_and_loop(app: Celery, lp: Lifespan) -> None:
    """Inside in_process() a task reads the state and awaits on the startup's loop."""
    events: list[str] = []

    @lp.resource(key="loop")
    async def loop(context: LifespanContext) -> AsyncIterator[asyncio.AbstractEventLoop]:
        events.append(f"setup {context.service_type} {context.get_metadata('celery.process')}")
        yield asyncio.get_running_loop()
        events.append("teardown")

    @app.task
    def task() -> bool:
        context = asgi_lifecycle_celery.current_context()

        async def same_loop() -> bool:
            return asyncio.get_running_loop() is context.state["loop"]

        return asgi_lifecycle_celery.run(same_loop())

    asgi_lifecycle_celery.install(app, lifespan=lp, config={"db": {"url": "sqlite://"}})
    with asgi_lifecycle_celery.in_process(app) as context:
        assert context.get_config("db.url") == "sqlite://"
        assert task.apply().get() is True
        assert asgi_lifecycle_celery.current_context() is context
    assert events == ["setup worker in-process", "teardown"]
    with pytest.raises(RuntimeError, match="no asgi-lifecycle lifespan is running"):
        asgi_lifecycle_celery.current_context()


def test_in_process_beat_uses_the_beat_service_type(app: Celery, lp: Lifespan) -> None:
    """in_process(beat=True) runs the hooks of beat's service type."""
    seen: list[str] = []
    lp.add_start_hook(lambda context: seen.append(context.service_type), name="seen")
    asgi_lifecycle_celery.install(app, lifespan=lp, beat_service_type="clock")
    with asgi_lifecycle_celery.in_process(app, beat=True) as context:
        assert context.service_type == "clock"
    assert seen == ["clock"]


def test_in_process_failure_raises_startup_failed(app: Celery, lp: Lifespan) -> None:
    """A failing critical hook makes in_process() raise StartupFailed, with nothing left running."""

    @lp.on_start
    def broken() -> None:
        raise RuntimeError("database unreachable")

    asgi_lifecycle_celery.install(app, lifespan=lp)
    with (
        pytest.raises(StartupFailed, match="database unreachable"),
        asgi_lifecycle_celery.in_process(app),
    ):
        pytest.fail("the block must not run")
    assert not lp.is_initialized()
    with pytest.raises(RuntimeError):
        asgi_lifecycle_celery.current_context()


def test_in_process_needs_install(app: Celery) -> None:
    """in_process() on an app without install() names the fix."""
    with (
        pytest.raises(RuntimeError, match=r"call asgi_lifecycle_celery.install\(app\) first"),
        asgi_lifecycle_celery.in_process(app),
    ):
        pytest.fail("the block must not run")


def test_in_process_twice_is_refused(app: Celery, lp: Lifespan) -> None:
    """A second in_process() for the same role in one process is refused."""
    asgi_lifecycle_celery.install(app, lifespan=lp)
    with (
        asgi_lifecycle_celery.in_process(app),
        pytest.raises(RuntimeError, match="already running in this process"),
        asgi_lifecycle_celery.in_process(app),
    ):
        pytest.fail("the block must not run")
