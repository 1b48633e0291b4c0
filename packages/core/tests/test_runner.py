from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from asgi_lifecycle import (
    HookRegistrationError,
    HookResult,
    HookTimeout,
    Lifespan,
    LifespanContext,
    StartupFailed,
)

pytestmark = pytest.mark.anyio


def recorder(events: list[str], label: str) -> Any:
    async def hook() -> None:
        events.append(label)

    hook.__qualname__ = hook.__name__ = label.replace(" ", "_")
    return hook


def resource(events: list[str], name: str, value: Any = None) -> Any:
    async def res() -> AsyncIterator[Any]:
        events.append(f"{name} up")
        yield value
        events.append(f"{name} down")

    res.__qualname__ = res.__name__ = name
    return res


async def test_all_hook_shapes_run(lp: Lifespan, events: list[str]) -> None:
    """Sync and async, zero-argument and context-taking hooks and both generator kinds run."""

    @lp.on_start
    def sync_zero() -> None:
        events.append("sync zero")

    @lp.on_start
    def sync_ctx(ctx: LifespanContext) -> None:
        events.append(f"sync ctx {ctx.service_type}")

    @lp.on_start
    async def async_zero() -> None:
        events.append("async zero")

    @lp.on_start
    async def async_ctx(ctx: LifespanContext) -> None:
        events.append(f"async ctx {ctx.environment}")

    @lp.resource
    def sync_gen(ctx: LifespanContext) -> Iterator[str]:
        events.append("sync gen up")
        yield "s"
        events.append("sync gen down")

    @lp.resource
    async def async_gen() -> AsyncIterator[str]:
        events.append("async gen up")
        yield "a"
        events.append("async gen down")

    @lp.resource
    @contextlib.asynccontextmanager
    async def acm() -> AsyncIterator[str]:
        events.append("acm up")
        yield "c"
        events.append("acm down")

    @lp.on_shutdown
    def sync_stop() -> None:
        events.append("sync stop")

    @lp.on_shutdown
    async def async_stop(ctx: LifespanContext) -> None:
        events.append(f"async stop {sorted(ctx.state)}")

    context = LifespanContext("web", "test")
    async with lp.run(context):
        assert context.state == {"sync_gen": "s", "async_gen": "a", "acm": "c"}
    assert events == [
        "sync zero", "sync ctx web", "async zero", "async ctx test",
        "sync gen up", "async gen up", "acm up",
        "async stop ['acm', 'async_gen', 'sync_gen']", "sync stop",
        "acm down", "async gen down", "sync gen down",
    ]  # fmt: skip


async def test_order_follows_phases_registration_and_after(lp: Lifespan, events: list[str]) -> None:
    """Lowest phase first; registration order within a phase unless after= says otherwise."""
    lp.on_start(priority=1, name="b")(recorder(events, "start b"))
    lp.on_start(priority=0, name="a")(recorder(events, "start a"))
    lp.resource(priority=1, name="c", after="d")(resource(events, "c"))
    lp.resource(priority=1, name="d")(resource(events, "d"))
    lp.on_shutdown(priority=1, name="e", after="b")(recorder(events, "stop e"))
    lp.on_shutdown(priority=0, name="f")(recorder(events, "stop f"))
    assert [h.name for h in lp.plan("app")] == ["a", "f", "b", "d", "c", "e"]
    async with lp.run(LifespanContext("app")):
        events.append("---")
    assert events == [
        "start a", "start b", "d up", "c up", "---", "stop e", "c down", "d down", "stop f"
    ]  # fmt: skip


async def test_filtering_by_service_type_and_environment(lp: Lifespan, events: list[str]) -> None:
    """Only hooks whose service types and environments match the context run."""
    lp.on_start(name="all")(recorder(events, "all"))
    lp.on_start(name="web", service_types=["app", "api"])(recorder(events, "web"))
    lp.on_start(name="worker", service_types="worker")(recorder(events, "worker"))
    lp.on_start(name="prod", environments="production")(recorder(events, "prod"))
    async with lp.run(LifespanContext("api", "production")):
        pass
    async with lp.run(LifespanContext("worker", "development")):
        pass
    assert events == ["all", "web", "prod", "all", "worker"]


async def test_critical_failure_rolls_back_exactly_what_started(
    lp: Lifespan, events: list[str]
) -> None:
    """A failing critical hook stops startup; begun phases' teardowns run in reverse."""
    lp.resource(priority=0, name="r0")(resource(events, "r0"))
    lp.on_shutdown(priority=0, name="s0")(recorder(events, "stop s0"))
    lp.resource(priority=1, name="r1")(resource(events, "r1"))

    @lp.on_start(priority=1, name="boom")
    async def boom() -> None:
        raise RuntimeError("no database")

    lp.resource(priority=1, name="r1b")(resource(events, "r1b"))
    lp.on_shutdown(priority=1, name="s1")(recorder(events, "stop s1"))
    lp.resource(priority=2, name="r2")(resource(events, "r2"))
    lp.on_shutdown(priority=2, name="s2")(recorder(events, "stop s2"))

    with pytest.raises(StartupFailed) as caught:
        await lp.startup(LifespanContext("app"))
    assert events == ["r0 up", "r1 up", "stop s1", "r1 down", "stop s0", "r0 down"]
    failed = caught.value
    assert failed.hook == "boom"
    assert isinstance(failed.error, RuntimeError)
    assert "boom" in str(failed)
    assert "no database" in str(failed)
    outcomes = [(r.hook.name, r.outcome) for r in failed.report.results]
    assert outcomes == [
        ("r0", "ok"), ("r1", "ok"), ("boom", "failed"), ("r1b", "skipped"), ("r2", "skipped")
    ]  # fmt: skip
    assert [r.hook.name for r in failed.rollback.results] == ["s1", "r1", "s0", "r0"]
    assert not lp.is_initialized()


async def test_non_critical_failure_is_isolated(
    lp: Lifespan, events: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A non-critical hook's failure is logged and reported, and startup goes on."""

    @lp.on_start(critical=False)
    async def flaky() -> None:
        raise ConnectionError("cache down")

    lp.on_start(name="after")(recorder(events, "after"))
    report = await lp.startup(LifespanContext("app"))
    assert events == ["after"]
    assert not report.ok
    assert [r.outcome for r in report.results] == ["failed", "ok"]
    assert "cache down" in caplog.text
    await lp.shutdown(LifespanContext("app"))


async def test_shutdown_never_stops_early(
    lp: Lifespan, events: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Every shutdown hook and teardown runs even when others fail or time out."""
    lp.resource(name="r")(resource(events, "r"))

    @lp.on_shutdown(name="slow", timeout=0.05)
    async def slow() -> None:
        await asyncio.sleep(10)

    @lp.on_shutdown(name="broken")
    def broken() -> None:
        raise ValueError("oops")

    lp.on_shutdown(name="last")(recorder(events, "last"))
    await lp.startup(LifespanContext("app"))
    report = await lp.shutdown(LifespanContext("app"))
    assert events == ["r up", "last", "r down"]
    assert [(r.hook.name, r.outcome) for r in report.results] == [
        ("last", "ok"), ("broken", "failed"), ("slow", "timed_out"), ("r", "ok")
    ]  # fmt: skip
    assert isinstance(report.results[2].error, HookTimeout)
    assert "oops" in caplog.text


async def test_hook_timeout_fails_startup(lp: Lifespan, events: list[str]) -> None:
    """A critical hook past its timeout is cancelled, reported as timed out, and stops startup."""

    @lp.on_start(name="hang", timeout=0.05)
    async def hang() -> None:
        try:
            await asyncio.sleep(10)
        finally:
            events.append("cancelled")

    with pytest.raises(StartupFailed) as caught:
        await lp.startup(LifespanContext("app"))
    assert events == ["cancelled"]
    assert isinstance(caught.value.error, HookTimeout)
    assert "within its timeout of 0.05 s" in str(caught.value.error)
    assert caught.value.report.results[0].outcome == "timed_out"


async def test_the_default_timeout_bounds_hooks_without_their_own() -> None:
    """Lifespan(timeout=...) applies to each hook without timeout=; a hook's own one wins."""
    lp = Lifespan(timeout=0.05)

    @lp.on_start(name="slow", critical=False)
    async def slow() -> None:
        await asyncio.sleep(10)

    @lp.on_start(name="patient", timeout=5)
    async def patient() -> None:
        await asyncio.sleep(0.1)

    report = await lp.startup(LifespanContext("app"))
    assert [r.outcome for r in report.results] == ["timed_out", "ok"]
    assert "within its timeout of 0.05 s" in str(report.results[0].error)
    lp.configure(timeout=None)
    assert lp.timeout is None
    await lp.shutdown(LifespanContext("app"))


async def test_startup_budget_bounds_the_whole_startup(events: list[str]) -> None:
    """The startup budget stops a startup whose hooks together take too long."""
    lp = Lifespan(startup_timeout=0.1)
    lp.on_start(name="quick")(recorder(events, "quick"))

    @lp.on_start(name="slow")
    async def slow() -> None:
        await asyncio.sleep(10)

    with pytest.raises(StartupFailed) as caught:
        await lp.startup(LifespanContext("app"))
    error = caught.value.error
    assert isinstance(error, HookTimeout)
    assert "phase budget of 0.1 s" in str(error)


async def test_a_hook_raising_timeout_error_itself_is_a_failure(lp: Lifespan) -> None:
    """A TimeoutError the hook raises itself is its failure, not the runner's timeout."""

    @lp.on_start(timeout=5)
    async def connect() -> None:
        raise TimeoutError("connect timed out")

    with pytest.raises(StartupFailed) as caught:
        await lp.startup(LifespanContext("app"))
    assert caught.value.report.results[0].outcome == "failed"
    assert not isinstance(caught.value.error, HookTimeout)


async def test_sync_hook_past_its_timeout_is_not_waited_on(lp: Lifespan) -> None:
    """A sync hook that outlives its timeout is reported, and the runner stops waiting."""
    release = threading.Event()

    @lp.on_start(timeout=0.05)
    def blocking() -> None:
        release.wait(10)

    try:
        with pytest.raises(StartupFailed) as caught:
            await lp.startup(LifespanContext("app"))
        message = str(caught.value.error)
        assert "cannot be interrupted" in message
        assert "may still be running" in message
    finally:
        release.set()


async def test_shutdown_budget_still_gives_every_hook_its_turn(events: list[str]) -> None:
    """With the shutdown budget spent by a hung hook, the remaining hooks still run."""
    lp = Lifespan(shutdown_timeout=0.2)
    for index in range(5):
        lp.on_shutdown(name=f"quick{index}")(recorder(events, f"quick{index}"))

    @lp.on_shutdown(name="hung")
    async def hung() -> None:
        await asyncio.sleep(10)

    for index in range(5, 10):
        lp.on_shutdown(name=f"quick{index}")(recorder(events, f"quick{index}"))
    await lp.startup(LifespanContext("app"))
    report = await lp.shutdown(LifespanContext("app"))
    assert sorted(events) == sorted(f"quick{i}" for i in range(10))
    assert [r.outcome for r in report.results].count("timed_out") == 1


async def test_concurrent_phase_overlaps_and_honours_after(events: list[str]) -> None:
    """With concurrent=True hooks of one phase overlap, except where after= orders them."""
    lp = Lifespan(concurrent=True)
    running = 0
    peak = 0
    gate = asyncio.Event()

    def worker(label: str) -> Any:
        async def hook() -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            if running == 3:
                gate.set()
            await asyncio.wait_for(gate.wait(), 5)
            await asyncio.sleep(0)
            running -= 1
            events.append(label)

        return hook

    lp.on_start(name="a")(worker("a"))
    lp.on_start(name="b")(worker("b"))
    lp.on_start(name="c")(worker("c"))
    lp.on_start(name="d", after=["a", "b", "c"])(recorder(events, "d"))
    lp.on_start(name="next phase", priority=1)(recorder(events, "next phase"))
    report = await lp.startup(LifespanContext("app"))
    assert peak == 3
    assert sorted(events[:3]) == ["a", "b", "c"]
    assert events[3:] == ["d", "next phase"]
    assert report.concurrent
    await lp.shutdown(LifespanContext("app"))


async def test_concurrent_failure_cancels_the_others_and_rolls_back(events: list[str]) -> None:
    """In a concurrent phase a critical failure cancels the other hooks, then rolls back."""
    lp = Lifespan(concurrent=True)
    lp.resource(name="done")(resource(events, "done"))
    started = asyncio.Event()

    @lp.on_start(name="long")
    async def long() -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            events.append("long cancelled")
            raise

    @lp.on_start(name="boom")
    async def boom() -> None:
        await started.wait()
        raise RuntimeError("boom")

    lp.on_start(name="waiting", after="boom")(recorder(events, "waiting"))
    with pytest.raises(StartupFailed) as caught:
        await lp.startup(LifespanContext("app"))
    assert events == ["done up", "long cancelled", "done down"]
    outcomes = {r.hook.name: r.outcome for r in caught.value.report.results}
    assert outcomes == {"done": "ok", "long": "cancelled", "boom": "failed", "waiting": "skipped"}


async def test_concurrent_shutdown_stops_dependents_first(events: list[str]) -> None:
    """In a concurrent shutdown a hook stops only after the hooks that depend on it."""
    lp = Lifespan(concurrent=True)
    lp.resource(name="pool")(resource(events, "pool"))
    lp.resource(name="cache", after="pool")(resource(events, "cache"))
    lp.resource(name="client", after="cache")(resource(events, "client"))
    async with lp.run(LifespanContext("app")):
        pass
    assert events == ["pool up", "cache up", "client up", "client down", "cache down", "pool down"]


async def test_state_and_metadata_follow_the_run_not_the_context(lp: Lifespan) -> None:
    """shutdown() with a fresh context stops the run startup() began, with its state."""
    seen: list[Any] = []

    @lp.resource(key="db")
    async def database() -> AsyncIterator[str]:
        yield "connection"

    @lp.on_start
    def mark(ctx: LifespanContext) -> None:
        ctx.set_metadata("database_connected", True)

    @lp.on_shutdown
    def close(ctx: LifespanContext) -> None:
        seen.append((ctx.get_metadata("database_connected"), ctx.state.get("db")))

    await lp.startup(LifespanContext("app", "production"))
    fresh = LifespanContext("app", "production")
    await lp.shutdown(fresh)
    assert seen == [(True, "connection")]
    assert fresh.state == {"db": "connection"}


async def test_start_twice_and_stop_without_start_are_harmless(
    lp: Lifespan, events: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A second startup joins the run; the hooks run once and stop after the last starter."""
    lp.resource(name="r")(resource(events, "r"))
    caplog.set_level(logging.INFO, "asgi_lifecycle")
    empty = await lp.shutdown(LifespanContext("app"))
    assert empty.results == ()
    assert "not running" in caplog.text

    first, second = LifespanContext("app"), LifespanContext("app")
    await lp.startup(first)
    report = await lp.startup(second)
    assert "joining it" in caplog.text
    assert second.state is first.state
    assert [r.hook.name for r in report.results] == ["r"]
    assert events == ["r up"]
    await lp.shutdown(first)
    assert events == ["r up"]
    assert lp.is_initialized()
    await lp.shutdown(second)
    assert events == ["r up", "r down"]
    assert not lp.is_initialized()


async def test_two_starters_at_once_share_one_startup(lp: Lifespan, events: list[str]) -> None:
    """Two startups of one run racing each other run its hooks once."""
    gate = asyncio.Event()

    @lp.on_start
    async def slow() -> None:
        events.append("slow")
        await gate.wait()

    first = asyncio.create_task(lp.startup(LifespanContext("app")))
    second = asyncio.create_task(lp.startup(LifespanContext("app")))
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(first, second)
    assert events == ["slow"]
    await lp.shutdown(LifespanContext("app"))
    assert lp.is_initialized()
    await lp.shutdown(LifespanContext("app"))
    assert not lp.is_initialized()


async def test_a_joiner_of_a_failed_startup_fails_too(lp: Lifespan) -> None:
    """A startup that joins a run whose startup fails raises the same StartupFailed."""
    gate = asyncio.Event()

    @lp.on_start
    async def fails() -> None:
        await gate.wait()
        raise RuntimeError("down")

    first = asyncio.create_task(lp.startup(LifespanContext("app")))
    second = asyncio.create_task(lp.startup(LifespanContext("app")))
    await asyncio.sleep(0.01)
    gate.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert all(isinstance(r, StartupFailed) for r in results)
    assert not lp.is_initialized()


async def test_runs_of_different_service_types_are_independent(
    lp: Lifespan, events: list[str]
) -> None:
    """A worker run and an app run in one process each run their own hooks."""
    lp.resource(name="r")(resource(events, "r"))
    await lp.startup(LifespanContext("app"))
    await lp.startup(LifespanContext("worker"))
    assert events == ["r up", "r up"]
    await lp.shutdown(LifespanContext("worker"))
    await lp.shutdown(LifespanContext("app"))
    assert events == ["r up", "r up", "r down", "r down"]


async def test_plan_runs_nothing(lp: Lifespan, events: list[str]) -> None:
    """plan() returns the hooks in order without running any."""
    lp.on_start(name="x")(recorder(events, "x"))
    plan = lp.plan("app")
    assert [h.name for h in plan] == ["x"]
    assert events == []
    assert lp.plan("app") is plan  # cached until the registry changes


async def test_reset_instance_empties_the_registry(lp: Lifespan, events: list[str]) -> None:
    """reset_instance() forgets hooks, listeners and runs."""
    lp.on_start(name="x")(recorder(events, "x"))
    lp.add_listener(lambda result: None)
    await lp.startup(LifespanContext("app"))
    lp.reset_instance()
    assert lp.hooks == ()
    assert not lp.is_initialized()
    await lp.startup(LifespanContext("app"))
    assert events == ["x"]


async def test_listeners_receive_every_hook_result(
    lp: Lifespan, events: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Listeners get one HookResult per hook run; a failing listener is logged, not fatal."""
    results: list[HookResult] = []
    lp.add_listener(results.append)

    def broken_listener(result: HookResult) -> None:
        raise RuntimeError("metrics down")

    lp.add_listener(broken_listener)
    lp.resource(name="r")(resource(events, "r"))
    lp.on_shutdown(name="s")(recorder(events, "s"))
    async with lp.run(LifespanContext("app")):
        pass
    assert [(r.hook.name, r.action, r.outcome) for r in results] == [
        ("r", "setup", "ok"), ("s", "stop", "ok"), ("r", "teardown", "ok")
    ]  # fmt: skip
    assert all(r.duration >= 0 for r in results)
    assert "metrics down" in caplog.text
    lp.remove_listener(broken_listener)


async def test_hooks_are_logged_on_the_asgi_lifecycle_logger(
    lp: Lifespan, caplog: pytest.LogCaptureFixture
) -> None:
    """Each hook run is logged with its outcome and duration; failures with a traceback."""
    caplog.set_level(logging.DEBUG, "asgi_lifecycle")
    lp.on_start(name="good")(recorder([], "good"))

    @lp.on_start(name="bad", critical=False)
    def bad() -> None:
        raise KeyError("missing")

    await lp.startup(LifespanContext("app"))
    records = [r for r in caplog.records if r.name == "asgi_lifecycle"]
    assert any("start good" in r.getMessage() for r in records if r.levelno == logging.DEBUG)
    assert any("good ok in" in r.getMessage() for r in records if r.levelno == logging.INFO)
    failure = next(r for r in records if "bad failed" in r.getMessage())
    assert failure.exc_info is not None
    await lp.shutdown(LifespanContext("app"))


async def test_report_prints_one_line_per_hook(lp: Lifespan) -> None:
    """str(report) is a title line and one line per hook: name, action, outcome, duration."""
    lp.on_start(name="first")(recorder([], "first"))
    lp.on_start(name="second")(recorder([], "second"))
    report = await lp.startup(LifespanContext("api", "prod"))
    lines = str(report).splitlines()
    assert lines[0].startswith("startup of 'api' (prod): 2 hooks, ok")
    assert lines[1].split()[:3] == ["first", "start", "ok"]
    assert lines[2].split()[:3] == ["second", "start", "ok"]
    assert lines[1].endswith("ms")
    await lp.shutdown(LifespanContext("api", "prod"))


async def test_sync_function_returning_a_coroutine_is_an_error(lp: Lifespan) -> None:
    """A plain function that returns a coroutine fails, telling the user to use async def."""

    async def real() -> None: ...

    lp.add_start_hook(lambda: real(), name="lambda_hook")
    with pytest.raises(StartupFailed) as caught:
        await lp.startup(LifespanContext("app"))
    assert isinstance(caught.value.error, HookRegistrationError)
    assert "declare it with 'async def'" in str(caught.value.error)


async def test_resource_that_never_yields_fails(lp: Lifespan) -> None:
    """A resource that returns without yielding fails its startup with a clear message."""

    @lp.resource
    async def empty() -> AsyncIterator[None]:
        if False:
            yield

    with pytest.raises(StartupFailed, match="returned without yielding"):
        await lp.startup(LifespanContext("app"))


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_resource_that_yields_twice_is_reported(lp: Lifespan, flavour: str) -> None:
    """A resource that yields a second time is reported as failed at teardown."""
    if flavour == "sync":

        def twice() -> Iterator[int]:
            yield 1
            yield 2

        lp.resource(twice)
    else:

        async def atwice() -> AsyncIterator[int]:
            yield 1
            yield 2

        lp.add_resource(atwice, key="twice")
    await lp.startup(LifespanContext("app"))
    report = await lp.shutdown(LifespanContext("app"))
    assert report.results[0].outcome == "failed"
    assert "yielded more than once" in str(report.results[0].error)


async def test_state_key_set_by_a_hook_is_not_overwritten(lp: Lifespan) -> None:
    """A resource publishing a key a start hook already set fails instead of overwriting."""

    @lp.on_start
    def sets(ctx: LifespanContext) -> None:
        ctx.state["db"] = "first"

    @lp.resource
    async def db() -> AsyncIterator[str]:
        yield "second"

    with pytest.raises(StartupFailed, match="already set"):
        await lp.startup(LifespanContext("app"))


async def test_base_exception_in_a_hook_is_reraised_after_rollback(
    lp: Lifespan, events: list[str]
) -> None:
    """KeyboardInterrupt from a hook rolls back what started, then propagates as it was."""
    lp.resource(name="r")(resource(events, "r"))

    @lp.on_start
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await lp.startup(LifespanContext("app"))
    assert events == ["r up", "r down"]


async def test_cancelled_startup_rolls_back(lp: Lifespan, events: list[str]) -> None:
    """A startup cancelled from outside rolls back what started and stays cancelled."""
    lp.resource(name="r")(resource(events, "r"))
    started = asyncio.Event()

    @lp.on_start
    async def waits() -> None:
        started.set()
        await asyncio.sleep(10)

    task = asyncio.create_task(lp.startup(LifespanContext("app")))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events == ["r up", "r down"]
    assert not lp.is_initialized()


async def test_the_default_lifespan_is_shared() -> None:
    """asgi_lifecycle.lifespan is one Lifespan for the whole process."""
    import asgi_lifecycle

    assert isinstance(asgi_lifecycle.lifespan, Lifespan)
    from asgi_lifecycle import lifespan

    assert lifespan is asgi_lifecycle.lifespan


async def test_sync_hooks_never_block_the_event_loop() -> None:
    """A sync hook runs in a thread: an async hook of its phase progresses meanwhile."""
    lp = Lifespan(concurrent=True)
    signal = threading.Event()
    seen: list[str] = []

    @lp.on_start(timeout=5)
    def waits_for_the_loop() -> None:
        # On the loop thread this would wait forever: the async hook could never run.
        seen.append("set" if signal.wait(5) else "timed out")

    @lp.on_start
    async def runs_on_the_loop() -> None:
        await asyncio.sleep(0.01)
        signal.set()

    await lp.startup(LifespanContext("app"))
    await lp.shutdown(LifespanContext("app"))
    assert seen == ["set"]


async def test_default_keys_that_both_publish_fail_naming_the_first(lp: Lifespan) -> None:
    """Two resources publishing under the same default key fail startup, naming the first."""

    def make(value: str) -> Any:
        async def client() -> AsyncIterator[str]:
            yield value

        return client

    lp.resource(name="first")(make("a"))
    lp.resource(name="second")(make("b"))
    with pytest.raises(StartupFailed, match=r"publishes context.state\['client'\], which 'first'"):
        await lp.startup(LifespanContext("app"))


async def test_shutdown_budget_watchdog_times_out_the_running_hook(events: list[str]) -> None:
    """When the shutdown budget runs out, the hook running then is timed out by the budget."""
    lp = Lifespan(shutdown_timeout=0.1)
    lp.on_shutdown(name="after")(recorder(events, "after"))

    @lp.on_shutdown(name="hung")
    async def hung() -> None:
        await asyncio.sleep(10)

    await lp.startup(LifespanContext("app"))
    report = await lp.shutdown(LifespanContext("app"))
    hung_result, after_result = report.results
    assert hung_result.outcome == "timed_out"
    assert "phase budget of 0.1 s" in str(hung_result.error)
    assert after_result.outcome == "ok"
    assert events == ["after"]


async def test_a_hook_that_swallows_the_budget_cancellation_does_not_poison_the_rest(
    events: list[str],
) -> None:
    """A hook that catches the budget's cancellation leaves later hooks able to await."""
    lp = Lifespan(shutdown_timeout=0.1)

    @lp.on_shutdown(name="later")
    async def later() -> None:
        await asyncio.sleep(0.01)
        events.append("later")

    @lp.on_shutdown(name="stubborn")
    async def stubborn() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            events.append("swallowed")
        await asyncio.sleep(0)

    await lp.startup(LifespanContext("app"))
    report = await lp.shutdown(LifespanContext("app"))
    assert events == ["swallowed", "later"]
    assert [r.outcome for r in report.results] == ["ok", "ok"]
    current = asyncio.current_task()
    assert current is not None
    assert current.cancelling() == 0


async def test_a_hung_sync_hook_is_abandoned_at_the_budget(events: list[str]) -> None:
    """A hung sync shutdown hook is reported once the budget is spent, and the rest run."""
    lp = Lifespan(shutdown_timeout=0.1)
    release = threading.Event()
    lp.on_shutdown(name="after")(recorder(events, "after"))

    @lp.on_shutdown(name="blocking")
    def blocking() -> None:
        release.wait(10)

    try:
        await lp.startup(LifespanContext("app"))
        report = await lp.shutdown(LifespanContext("app"))
    finally:
        release.set()
    assert [r.outcome for r in report.results] == ["timed_out", "ok"]
    assert "may still be running" in str(report.results[0].error)
    assert events == ["after"]


async def test_report_title_counts_one_hook_in_the_singular(lp: Lifespan) -> None:
    """A report of one hook says '1 hook', not '1 hooks'."""
    lp.on_start(name="only")(recorder([], "only"))
    report = await lp.startup(LifespanContext("app"))
    assert ": 1 hook, ok," in str(report).splitlines()[0]
    await lp.shutdown(LifespanContext("app"))
