"""The contract every adapter passes: `LifecycleContract`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import pytest

from asgi_lifecycle import Lifespan, LifespanContext

from ._asgi import ReferenceHarness
from ._capabilities import Capabilities
from ._harness import (
    Harness,
    HealthAnswer,
    NativeShutdownFailure,
    NativeStartupFailure,
    Running,
    Settings,
)
from ._recorder import LifecycleRecorder

__all__ = ("LifecycleContract",)

_F = TypeVar("_F", bound=Callable[..., Any])

# The settings of most runs: a service type and environment other than the defaults, so
# that an adapter which ignores them is caught; config with a nested key.
API = Settings(
    service_type="api",
    environment="staging",
    config={"db": {"url": "sqlite://contract"}, "name": "contract"},
)
WORKER = Settings(service_type="worker", environment="staging", config={"name": "contract"})
HEALTH_TOKEN = "contract-health-token"
HEALTHY = Settings(service_type="api", environment="staging", health_token=HEALTH_TOKEN)
# What a failing check's exception says: a public health response must never show it.
SECRET = "postgres://contract:s3cret@db.internal/contract"


def _contract_test(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async contract test on an event loop of its own, bounded in time.

    The suite needs no async pytest plugin: the adapter's tests may use anyio,
    pytest-asyncio or none.
    """

    @functools.wraps(test)
    def run(self: LifecycleContract, *args: Any, **kwargs: Any) -> None:
        async def bounded() -> None:
            async with asyncio.timeout(self.contract_timeout):
                await test(self, *args, **kwargs)

        asyncio.run(bounded())

    return run


def requires(*capabilities: str) -> pytest.MarkDecorator:
    """Mark a test as needing the named `Capabilities`."""
    return pytest.mark.requires(*capabilities)


# -- hooks that record what they do -------------------------------------------------


def _name(label: str) -> str:
    return f"contract.{label}"


def _own(outcomes: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The contract's own hooks' outcomes: an adapter may run hooks of its own too."""
    return [outcome for outcome in outcomes if outcome[1].startswith("contract.")]


def start(lp: Lifespan, rec: LifecycleRecorder, label: str, **options: Any) -> None:
    async def hook(context: LifespanContext) -> None:
        rec.record("start", label)

    lp.add_start_hook(hook, name=_name(label), **options)


def stop(lp: Lifespan, rec: LifecycleRecorder, label: str, **options: Any) -> None:
    async def hook(context: LifespanContext) -> None:
        rec.record("stop", label)

    lp.add_shutdown_hook(hook, name=_name(label), **options)


def resource(
    lp: Lifespan, rec: LifecycleRecorder, label: str, value: Any = None, **options: Any
) -> None:
    async def hook(context: LifespanContext) -> AsyncIterator[Any]:
        rec.record("setup", label)
        yield value
        rec.record("teardown", label)

    lp.add_resource(hook, name=_name(label), key=label, **options)


def failing_start(lp: Lifespan, rec: LifecycleRecorder, label: str, **options: Any) -> None:
    async def hook(context: LifespanContext) -> None:
        rec.record("start", label)
        raise RuntimeError(f"{label} failed on purpose")

    lp.add_start_hook(hook, name=_name(label), **options)


def failing_stop(lp: Lifespan, rec: LifecycleRecorder, label: str, **options: Any) -> None:
    async def hook(context: LifespanContext) -> None:
        rec.record("stop", label)
        raise RuntimeError(f"{label} failed on purpose")

    lp.add_shutdown_hook(hook, name=_name(label), **options)


async def _hang() -> None:
    await asyncio.Event().wait()


async def refused(harness: Harness, lp: Lifespan, settings: Settings) -> str:
    """Expect the harness to refuse to start natively; return the framework's message."""
    try:
        async with harness.run(lp, settings):
            pass
    except NativeStartupFailure as failure:
        return failure.message
    except Exception as error:
        raise AssertionError(
            f"the startup failure surfaced as {type(error).__name__}, not NativeStartupFailure: "
            f"the framework must report it natively (ASGI: lifespan.startup.failed) and the "
            f"harness translate that report"
        ) from error
    raise AssertionError("the framework started although a critical startup hook failed")


async def probe(running: Running, path: str, *, authorization: str | None = None) -> HealthAnswer:
    """Ask the adapter's health endpoint through the harness's `Running`."""
    health = getattr(running, "health", None)
    if health is None:
        raise AssertionError(
            f"{type(running).__name__} has no health(probe, authorization=...) method: "
            f"implement it to request the adapter's health endpoint, or declare "
            f"Capabilities(health_endpoint=False) if the adapter serves none"
        )
    answer = await health(path, authorization=authorization)
    if not isinstance(answer, HealthAnswer):
        raise AssertionError(
            f"{type(running).__name__}.health() returned {answer!r}, not a HealthAnswer"
        )
    return answer


def health_lifespan(*, critical: bool = True, fail: bool = False) -> Lifespan:
    """A registry with one resource and a check of it, uncached so that each probe runs it."""
    lp = Lifespan()
    lp.configure(health_ttl=0)

    async def pool(context: LifespanContext) -> AsyncIterator[str]:
        yield "pool"

    def ping(value: str) -> None:
        if value != "pool":
            raise AssertionError(f"the check got {value!r}, not what the resource yielded")
        if fail:
            raise ConnectionError(f"cannot reach {SECRET}")

    lp.add_resource(pool, name=_name("pool"), key="pool")
    lp.add_health_check(ping, name=_name("ping"), resource=_name("pool"), critical=critical)
    return lp


@contextlib.contextmanager
def _shutdown_may_fail() -> Iterator[None]:
    # Shutdown failures are reported natively where the framework can; only
    # test_shutdown_failure_reported_natively checks that report.
    with contextlib.suppress(NativeShutdownFailure):
        yield


class LifecycleContract:
    """The whole promise of asgi-lifecycle, checked through one adapter's framework.

    Subclass it as ``TestYourAdapter`` (the class has no ``Test`` prefix, so it
    is collected only when subclassed) and override the ``harness`` fixture; see
    the package README. Override ``capabilities`` to declare what the adapter
    cannot do, and ``expected_failures`` for known gaps.

    Attributes:
        expected_failures: Test name -> reason, for known gaps. Each becomes a
            strict xfail: the run fails when the test starts passing.
        contract_timeout: Seconds one contract test may take before it fails.
    """

    expected_failures: ClassVar[Mapping[str, str]] = {}
    contract_timeout: ClassVar[float] = 60.0

    @pytest.fixture
    def harness(self) -> Harness:
        """The adapter under test; override this fixture in the subclass."""
        raise NotImplementedError(
            f"{type(self).__name__}: override the `harness` fixture to return your adapter's "
            f"Harness, e.g. `@pytest.fixture def harness(self): return MyHarness()` (see "
            f"asgi_lifecycle_testing.ReferenceHarness and the package README)"
        )

    @pytest.fixture
    def capabilities(self) -> Capabilities:
        """What the adapter can do; override to turn abilities off."""
        return Capabilities()

    @pytest.fixture
    def recorder(self) -> LifecycleRecorder:
        """What the hooks of the test did."""
        return LifecycleRecorder()

    @pytest.fixture(autouse=True)
    def _lifecycle_requirements(
        self, request: pytest.FixtureRequest, capabilities: Capabilities
    ) -> None:
        if not isinstance(capabilities, Capabilities):
            raise TypeError(
                f"the `capabilities` fixture must return asgi_lifecycle_testing.Capabilities, "
                f"got {capabilities!r}"
            )
        missing = []
        for mark in request.node.iter_markers("requires"):
            for name in mark.args:
                if name not in Capabilities.names():
                    raise ValueError(
                        f"@requires({name!r}): no such capability; known: "
                        f"{', '.join(Capabilities.names())}"
                    )
                if not getattr(capabilities, name):
                    missing.append(name)
        if missing:
            pytest.skip(f"adapter lacks capabilities: {', '.join(missing)}")

    # -- order ----------------------------------------------------------------------

    @_contract_test
    async def test_startup_order(self, harness: Harness, recorder: LifecycleRecorder) -> None:
        """Startup runs hooks by ascending priority, then in registration order, except that after= puts a hook after the hook it names."""  # noqa: E501
        lp = Lifespan()
        start(lp, recorder, "late", priority=10)
        start(lp, recorder, "first")
        start(lp, recorder, "needs-third", after=_name("third"))
        resource(lp, recorder, "second")
        start(lp, recorder, "third")
        start(lp, recorder, "early", priority=-5)
        async with harness.run(lp, API):
            assert recorder.events == [
                ("start", "early"),
                ("start", "first"),
                ("setup", "second"),
                ("start", "third"),
                ("start", "needs-third"),
                ("start", "late"),
            ]

    @_contract_test
    async def test_shutdown_order(self, harness: Harness, recorder: LifecycleRecorder) -> None:
        """Shutdown runs shutdown hooks and resource teardowns in exactly the reverse of the startup order."""  # noqa: E501
        lp = Lifespan()
        resource(lp, recorder, "db")
        stop(lp, recorder, "flush", after=_name("db"))
        resource(lp, recorder, "cache", priority=5)
        stop(lp, recorder, "close-logs", priority=-1)
        resource(lp, recorder, "pool")
        async with harness.run(lp, API):
            recorder.clear()
        assert recorder.events == [
            ("teardown", "cache"),
            ("teardown", "pool"),
            ("stop", "flush"),
            ("teardown", "db"),
            ("stop", "close-logs"),
        ]

    @_contract_test
    async def test_rollback_order(self, harness: Harness, recorder: LifecycleRecorder) -> None:
        """A refused startup tears down, in reverse order, every resource that was set up and the shutdown hooks of every phase that had begun, and nothing else."""  # noqa: E501
        lp = Lifespan()
        stop(lp, recorder, "stop-early", priority=-1)
        resource(lp, recorder, "db")
        start(lp, recorder, "warm")
        stop(lp, recorder, "stop-0")
        failing_start(lp, recorder, "boom", priority=5)
        resource(lp, recorder, "cache", priority=5)
        stop(lp, recorder, "stop-5", priority=5)
        resource(lp, recorder, "late", priority=10)
        stop(lp, recorder, "stop-10", priority=10)
        await refused(harness, lp, API)
        assert recorder.events == [
            ("setup", "db"),
            ("start", "warm"),
            ("start", "boom"),
            ("stop", "stop-5"),
            ("stop", "stop-0"),
            ("teardown", "db"),
            ("stop", "stop-early"),
        ]

    # -- filtering ------------------------------------------------------------------

    @_contract_test
    async def test_service_type_filter(self, harness: Harness, recorder: LifecycleRecorder) -> None:
        """Only the hooks registered for the run's service type, or for every service type, run at startup and at shutdown."""  # noqa: E501
        lp = Lifespan()
        start(lp, recorder, "every")
        start(lp, recorder, "api-only", service_types="api")
        start(lp, recorder, "worker-only", service_types="worker")
        start(lp, recorder, "api-or-worker", service_types=["api", "worker"])
        stop(lp, recorder, "api-stop", service_types="api")
        stop(lp, recorder, "worker-stop", service_types="worker")
        resource(lp, recorder, "worker-pool", service_types="worker")
        async with harness.run(lp, API):
            pass
        assert recorder.events == [
            ("start", "every"),
            ("start", "api-only"),
            ("start", "api-or-worker"),
            ("stop", "api-stop"),
        ]

    @_contract_test
    async def test_environment_filter(self, harness: Harness, recorder: LifecycleRecorder) -> None:
        """Only the hooks registered for the run's environment, or for every environment, run at startup and at shutdown."""  # noqa: E501
        lp = Lifespan()
        start(lp, recorder, "everywhere")
        start(lp, recorder, "staging-only", environments="staging")
        start(lp, recorder, "production-only", environments="production")
        resource(lp, recorder, "staging-db", environments=["staging", "development"])
        stop(lp, recorder, "production-stop", environments="production")
        async with harness.run(lp, API):
            pass
        assert recorder.events == [
            ("start", "everywhere"),
            ("start", "staging-only"),
            ("setup", "staging-db"),
            ("teardown", "staging-db"),
        ]

    # -- hook shapes ----------------------------------------------------------------

    @_contract_test
    async def test_sync_and_async_hooks(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """Plain and async hooks taking the context run in order, at startup and at shutdown."""
        lp = Lifespan()

        def sync_start(context: LifespanContext) -> None:
            recorder.record("start", f"sync:{context.service_type}")

        async def async_start(context: LifespanContext) -> None:
            recorder.record("start", f"async:{context.service_type}")

        def sync_stop(context: LifespanContext) -> None:
            recorder.record("stop", f"sync:{context.service_type}")

        async def async_stop(context: LifespanContext) -> None:
            recorder.record("stop", f"async:{context.service_type}")

        lp.add_start_hook(sync_start, name=_name("sync-start"))
        lp.add_start_hook(async_start, name=_name("async-start"))
        lp.add_shutdown_hook(sync_stop, name=_name("sync-stop"))
        lp.add_shutdown_hook(async_stop, name=_name("async-stop"))
        async with harness.run(lp, API):
            pass
        assert recorder.events == [
            ("start", "sync:api"),
            ("start", "async:api"),
            ("stop", "async:api"),
            ("stop", "sync:api"),
        ]

    @_contract_test
    async def test_zero_argument_hooks(self, harness: Harness, recorder: LifecycleRecorder) -> None:
        """Hooks and resources that take no argument run like those that take the context."""
        lp = Lifespan()

        def sync_start() -> None:
            recorder.record("start", "sync")

        async def async_start() -> None:
            recorder.record("start", "async")

        def sync_resource() -> Iterator[None]:
            recorder.record("setup", "sync")
            yield
            recorder.record("teardown", "sync")

        async def async_stop() -> None:
            recorder.record("stop", "async")

        lp.add_start_hook(sync_start, name=_name("sync-start"))
        lp.add_start_hook(async_start, name=_name("async-start"))
        lp.add_resource(sync_resource, name=_name("sync-resource"))
        lp.add_shutdown_hook(async_stop, name=_name("async-stop"))
        async with harness.run(lp, API):
            pass
        assert recorder.events == [
            ("start", "sync"),
            ("start", "async"),
            ("setup", "sync"),
            ("stop", "async"),
            ("teardown", "sync"),
        ]

    @_contract_test
    async def test_sync_hooks_run_off_the_event_loop(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """Sync hooks and sync resources run in a worker thread, never on a thread running an event loop."""  # noqa: E501
        lp = Lifespan()

        def where() -> str:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return "thread"
            return "event loop"

        def sync_start() -> None:
            recorder.record("start", where())

        def sync_resource() -> Iterator[None]:
            recorder.record("setup", where())
            yield
            recorder.record("teardown", where())

        def sync_stop() -> None:
            recorder.record("stop", where())

        lp.add_start_hook(sync_start, name=_name("sync-start"))
        lp.add_resource(sync_resource, name=_name("sync-resource"))
        lp.add_shutdown_hook(sync_stop, name=_name("sync-stop"))
        async with harness.run(lp, API):
            pass
        assert recorder.events == [
            ("start", "thread"),
            ("setup", "thread"),
            ("stop", "thread"),
            ("teardown", "thread"),
        ]

    @_contract_test
    async def test_resources(self, harness: Harness, recorder: LifecycleRecorder) -> None:
        """A resource's code before its yield runs at startup and the code after it at shutdown, for sync and async generators alike."""  # noqa: E501
        lp = Lifespan()

        def sync_pool(context: LifespanContext) -> Iterator[str]:
            recorder.record("setup", "sync")
            yield "pool"
            recorder.record("teardown", "sync")

        async def async_client(context: LifespanContext) -> AsyncIterator[str]:
            recorder.record("setup", "async")
            yield "client"
            recorder.record("teardown", "async")

        lp.add_resource(sync_pool, name=_name("sync-pool"))
        lp.add_resource(async_client, name=_name("async-client"))
        async with harness.run(lp, API):
            assert recorder.events == [("setup", "sync"), ("setup", "async")]
        assert recorder.events[2:] == [("teardown", "async"), ("teardown", "sync")]

    # -- context and state ----------------------------------------------------------

    @_contract_test
    async def test_context_carries_settings(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """Hooks receive a context carrying the service type, environment and config the framework was configured with, dotted keys included."""  # noqa: E501
        lp = Lifespan()

        def seen(context: LifespanContext) -> tuple[str, str, Any, Any]:
            return (
                context.service_type,
                context.environment,
                context.get_config("db.url"),
                context.get_config("name"),
            )

        async def on_start(context: LifespanContext) -> None:
            recorder.note("start", seen(context))

        async def on_stop(context: LifespanContext) -> None:
            recorder.note("stop", seen(context))

        lp.add_start_hook(on_start, name=_name("start"))
        lp.add_shutdown_hook(on_stop, name=_name("stop"))
        async with harness.run(lp, API):
            pass
        expected = ("api", "staging", "sqlite://contract", "contract")
        assert recorder.values == {"start": expected, "stop": expected}

    @_contract_test
    async def test_metadata_reaches_later_hooks(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """Metadata set by a startup hook is seen by later startup hooks and by the shutdown hooks of the same run."""  # noqa: E501
        lp = Lifespan()
        token = object()

        async def first(context: LifespanContext) -> None:
            context.set_metadata("token", token)

        def second(context: LifespanContext) -> None:
            recorder.note("second", context.get_metadata("token"))

        async def on_stop(context: LifespanContext) -> None:
            recorder.note("stop", context.get_metadata("token"))

        lp.add_start_hook(first, name=_name("first"))
        lp.add_start_hook(second, name=_name("second"))
        lp.add_shutdown_hook(on_stop, name=_name("stop"))
        async with harness.run(lp, API):
            pass
        assert recorder.values["second"] is token
        assert recorder.values["stop"] is token

    @requires("state_in_work")
    @_contract_test
    async def test_state_reaches_unit_of_work(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """A value a resource yields and a value a hook puts in context.state reach each unit of work inside the framework, as the same objects."""  # noqa: E501
        lp = Lifespan()
        db, flag = object(), object()
        resource(lp, recorder, "db", db)

        async def set_flag(context: LifespanContext) -> None:
            context.state["flag"] = flag

        lp.add_start_hook(set_flag, name=_name("set-flag"))
        async with harness.run(lp, API) as running:
            for _ in range(2):
                observation = await running.perform()
                assert observation.state.get("db") is db
                assert observation.state.get("flag") is flag

    @requires("context_in_work")
    @_contract_test
    async def test_context_reaches_unit_of_work(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """The unit of work is handed the run's context, with its service type, environment, config and state."""  # noqa: E501
        lp = Lifespan()
        db = object()
        resource(lp, recorder, "db", db)
        async with harness.run(lp, API) as running:
            context = (await running.perform()).context
        assert context is not None, "the harness reported no context for the unit of work"
        assert (context.service_type, context.environment) == ("api", "staging")
        assert context.get_config("db.url") == "sqlite://contract"
        assert context.state.get("db") is db

    # -- failures -------------------------------------------------------------------

    @_contract_test
    async def test_critical_failure_reported_natively(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """A critical startup hook that raises makes the framework refuse to start, in its native way, with the hook's name and the error in the message, after a rollback."""  # noqa: E501
        lp = Lifespan()
        resource(lp, recorder, "db")
        failing_start(lp, recorder, "boom")
        start(lp, recorder, "never")
        message = await refused(harness, lp, API)
        assert _name("boom") in message
        assert "boom failed on purpose" in message
        assert recorder.events == [("setup", "db"), ("start", "boom"), ("teardown", "db")]
        assert not lp.is_initialized()

    @requires("stop_during_startup")
    @_contract_test
    async def test_stop_during_startup_rolls_back_and_refuses(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """A stop requested while a startup hook runs cancels it, rolls back what started, and makes the framework refuse to start natively."""  # noqa: E501
        lp = Lifespan()
        resource(lp, recorder, "db")

        async def slow(context: LifespanContext) -> None:
            recorder.record("start", "slow")
            lp.request_stop(context.service_type, context.environment)
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                recorder.record("cancelled", "slow")
                raise

        lp.add_start_hook(slow, name=_name("slow"))
        start(lp, recorder, "never")
        message = await refused(harness, lp, API)
        assert "StopRequested" in message or "stopped" in message, message
        assert recorder.events == [
            ("setup", "db"),
            ("start", "slow"),
            ("cancelled", "slow"),
            ("teardown", "db"),
        ]
        assert not lp.is_initialized()

    @_contract_test
    async def test_start_again_after_refused_start(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """After a refused startup, the framework starts cleanly once the failing hook succeeds."""
        lp = Lifespan()
        broken = [True]

        async def flaky(context: LifespanContext) -> None:
            recorder.record("start", "flaky")
            if broken[0]:
                raise RuntimeError("flaky failed on purpose")

        resource(lp, recorder, "db")
        lp.add_start_hook(flaky, name=_name("flaky"))
        await refused(harness, lp, API)
        broken[0] = False
        recorder.clear()
        async with harness.run(lp, API) as running:
            assert lp.is_initialized()
            await running.perform()
        assert recorder.events == [("setup", "db"), ("start", "flaky"), ("teardown", "db")]

    @_contract_test
    async def test_stop_after_refused_start_runs_nothing_again(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """When the framework stops after a refused startup, no shutdown hook or teardown runs beyond the rollback."""  # noqa: E501
        lp = Lifespan()
        resource(lp, recorder, "db")
        stop(lp, recorder, "stop")
        failing_start(lp, recorder, "boom")
        await refused(harness, lp, API)
        assert recorder.count("stop", "stop") == 1
        assert recorder.count("teardown", "db") == 1
        report = await lp.shutdown(API.context())
        assert report.results == ()

    @_contract_test
    async def test_non_critical_failure_isolated(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """A non-critical startup hook that raises or times out is reported and passed over: the other hooks run and the framework serves."""  # noqa: E501
        lp = recorder.watch(Lifespan())
        failing_start(lp, recorder, "optional", critical=False)

        async def slow() -> None:
            await _hang()

        lp.add_start_hook(slow, name=_name("slow"), critical=False, timeout=0.05)
        resource(lp, recorder, "db")
        async with harness.run(lp, API) as running:
            await running.perform()
        assert recorder.events == [("start", "optional"), ("setup", "db"), ("teardown", "db")]
        assert _own(recorder.outcomes)[:2] == [
            ("start", _name("optional"), "failed"),
            ("start", _name("slow"), "timed_out"),
        ]

    @_contract_test
    async def test_shutdown_never_stops_early(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """Every shutdown hook and teardown runs even when others raise."""
        lp = Lifespan()

        async def broken_resource() -> AsyncIterator[None]:
            yield
            recorder.record("teardown", "broken")
            raise RuntimeError("broken teardown failed on purpose")

        stop(lp, recorder, "last")
        lp.add_resource(broken_resource, name=_name("broken"))
        failing_stop(lp, recorder, "middle")
        resource(lp, recorder, "db")
        stop(lp, recorder, "first")
        with _shutdown_may_fail():
            async with harness.run(lp, API):
                recorder.clear()
        assert recorder.events == [
            ("stop", "first"),
            ("teardown", "db"),
            ("stop", "middle"),
            ("teardown", "broken"),
            ("stop", "last"),
        ]

    @requires("reports_shutdown_failure")
    @_contract_test
    async def test_shutdown_failure_reported_natively(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """A shutdown hook that raises makes the framework report a failed shutdown, in its native way, naming the hook."""  # noqa: E501
        lp = Lifespan()
        failing_stop(lp, recorder, "flush")
        with pytest.raises(NativeShutdownFailure) as info:
            async with harness.run(lp, API):
                pass
        assert _name("flush") in info.value.message
        assert "flush failed on purpose" in info.value.message

    # -- timeouts -------------------------------------------------------------------

    @_contract_test
    async def test_startup_hook_timeout(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """A critical async startup hook that outlives its timeout is cancelled, and the framework refuses to start, naming the hook."""  # noqa: E501
        lp = Lifespan()
        resource(lp, recorder, "db")

        async def hang() -> None:
            recorder.record("start", "hang")
            try:
                await _hang()
            except asyncio.CancelledError:
                recorder.record("cancelled", "hang")
                raise

        lp.add_start_hook(hang, name=_name("hang"), timeout=0.05)
        message = await refused(harness, lp, API)
        assert _name("hang") in message
        assert "timeout" in message.lower()
        assert recorder.events == [
            ("setup", "db"),
            ("start", "hang"),
            ("cancelled", "hang"),
            ("teardown", "db"),
        ]

    @_contract_test
    async def test_sync_startup_hook_timeout(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """A critical sync startup hook that outlives its timeout stops the startup too, though its thread cannot be interrupted."""  # noqa: E501
        lp = Lifespan()
        release = threading.Event()

        def block() -> None:
            recorder.record("start", "block")
            release.wait(30)

        lp.add_start_hook(block, name=_name("block"), timeout=0.05)
        stop(lp, recorder, "stop")
        try:
            message = await refused(harness, lp, API)
        finally:
            release.set()
        assert _name("block") in message
        # The thread may not even have started before the timeout: only the rollback is sure.
        assert recorder.count("stop", "stop") == 1

    @_contract_test
    async def test_startup_budget(self, harness: Harness, recorder: LifecycleRecorder) -> None:
        """The Lifespan's startup_timeout bounds the whole startup through the framework, and the hook running when it ran out is named."""  # noqa: E501
        lp = Lifespan(startup_timeout=0.25)
        resource(lp, recorder, "db")

        async def slow() -> None:
            await _hang()

        lp.add_start_hook(slow, name=_name("slow"))
        message = await refused(harness, lp, API)
        assert _name("slow") in message
        assert recorder.events == [("setup", "db"), ("teardown", "db")]

    @_contract_test
    async def test_shutdown_hook_timeout(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """A shutdown hook that outlives its timeout is abandoned and the hooks after it still run."""  # noqa: E501
        lp = recorder.watch(Lifespan())
        resource(lp, recorder, "db")

        async def hang() -> None:
            await _hang()

        lp.add_shutdown_hook(hang, name=_name("hang"), timeout=0.05)
        stop(lp, recorder, "first")
        with _shutdown_may_fail():
            async with harness.run(lp, API):
                recorder.clear()
        assert recorder.events == [("stop", "first"), ("teardown", "db")]
        assert _own(recorder.outcomes) == [
            ("stop", _name("first"), "ok"),
            ("stop", _name("hang"), "timed_out"),
            ("teardown", _name("db"), "ok"),
        ]

    @_contract_test
    async def test_concurrent_phase(self, harness: Harness, recorder: LifecycleRecorder) -> None:
        """A Lifespan(concurrent=True) runs the hooks of one phase concurrently through the framework."""  # noqa: E501
        lp = Lifespan(concurrent=True)
        ready = asyncio.Event()

        async def waiter() -> None:
            await ready.wait()
            recorder.record("start", "waiter")

        async def setter() -> None:
            recorder.record("start", "setter")
            ready.set()

        lp.add_start_hook(waiter, name=_name("waiter"), timeout=2)
        lp.add_start_hook(setter, name=_name("setter"))
        async with harness.run(lp, API):
            pass
        assert recorder.events == [("start", "setter"), ("start", "waiter")]

    # -- starting twice, stopping without starting ----------------------------------

    @_contract_test
    async def test_restart_runs_hooks_again(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """Starting the framework again after a clean stop runs every hook again."""
        lp = Lifespan()
        resource(lp, recorder, "db")
        start(lp, recorder, "warm")
        stop(lp, recorder, "flush")
        for _ in range(2):
            async with harness.run(lp, API):
                assert lp.is_initialized()
            assert not lp.is_initialized()
        cycle = [("setup", "db"), ("start", "warm"), ("stop", "flush"), ("teardown", "db")]
        assert recorder.events == cycle + cycle

    @requires("overlapping_runs")
    @_contract_test
    async def test_second_start_joins_the_run(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """A second start of the same service type and environment while the first runs joins it: its hooks run once, and stop when the last one stops."""  # noqa: E501
        lp = Lifespan()
        resource(lp, recorder, "db")
        stop(lp, recorder, "flush")
        async with harness.run(lp, API):
            async with harness.run(lp, API):
                assert recorder.events == [("setup", "db")]
            assert recorder.events == [("setup", "db")]
            assert lp.is_initialized()
        assert recorder.events == [("setup", "db"), ("stop", "flush"), ("teardown", "db")]

    @_contract_test
    async def test_stop_leaves_other_runs_alone(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """Stopping the framework stops only its own run: a run of another service type, started elsewhere in the process, keeps running."""  # noqa: E501
        lp = Lifespan()
        resource(lp, recorder, "worker-pool", service_types="worker")
        resource(lp, recorder, "api-db", service_types="api")
        other = WORKER.context()
        await lp.startup(other)
        try:
            async with harness.run(lp, API):
                pass
            assert recorder.events == [
                ("setup", "worker-pool"),
                ("setup", "api-db"),
                ("teardown", "api-db"),
            ]
            assert lp.is_initialized()
        finally:
            await lp.shutdown(other)
        assert recorder.events[-1] == ("teardown", "worker-pool")

    # -- one hook module, two adapters ----------------------------------------------

    @_contract_test
    async def test_two_adapters_one_after_the_other(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """One hook module runs under this adapter, then under another adapter, then under this one again in one process, each run complete and selecting its own hooks."""  # noqa: E501
        lp = Lifespan()
        resource(lp, recorder, "db")
        start(lp, recorder, "routes", service_types="api")
        start(lp, recorder, "queues", service_types="worker")
        stop(lp, recorder, "flush")
        other = ReferenceHarness()
        async with harness.run(lp, API):
            pass
        async with other.run(lp, WORKER):
            pass
        async with harness.run(lp, API):
            pass
        web = [("setup", "db"), ("start", "routes"), ("stop", "flush"), ("teardown", "db")]
        worker = [("setup", "db"), ("start", "queues"), ("stop", "flush"), ("teardown", "db")]
        assert recorder.events == web + worker + web

    @requires("overlapping_runs")
    @_contract_test
    async def test_two_adapters_share_one_run(
        self, harness: Harness, recorder: LifecycleRecorder
    ) -> None:
        """This adapter and another one starting the same run at once share it: its hooks run once and stop after the last adapter stops."""  # noqa: E501
        lp = Lifespan()
        resource(lp, recorder, "db")
        other = ReferenceHarness()
        async with other.run(lp, API):
            async with harness.run(lp, API):
                assert recorder.events == [("setup", "db")]
            assert recorder.events == [("setup", "db")]
        assert recorder.events == [("setup", "db"), ("teardown", "db")]
        recorder.clear()
        async with harness.run(lp, API):
            async with other.run(lp, API):
                pass
            assert recorder.events == [("setup", "db")]
        assert recorder.events == [("setup", "db"), ("teardown", "db")]

    # -- health -----------------------------------------------------------------------

    @requires("health_endpoint")
    @_contract_test
    async def test_health_ready_and_live(self, harness: Harness) -> None:
        """While the run is ready and its checks pass, the adapter's endpoint answers readiness and liveness 200 with an application/health+json report of this run."""  # noqa: E501
        lp = health_lifespan()
        async with harness.run(lp, HEALTHY) as running:
            for path in ("ready", "", "live"):
                answer = await probe(running, path)
                assert answer.status == 200, f"{path!r}: {answer}"
                report = answer.json()
                assert report["status"] == "pass"
                assert report["serviceId"] == HEALTHY.service_type
            ready = (await probe(running, "ready")).json()
            assert f"{_name('ping')}:responseTime" in ready["checks"]

    @requires("health_endpoint")
    @_contract_test
    async def test_health_failing_critical_check(self, harness: Harness) -> None:
        """A failing critical check makes readiness 503 without its error text, shows the error to the token only, and leaves liveness 200."""  # noqa: E501
        lp = health_lifespan(fail=True)
        async with harness.run(lp, HEALTHY) as running:
            public = await probe(running, "ready")
            assert public.status == 503, public
            assert public.json()["status"] == "fail"
            assert SECRET not in public.body
            assert "ConnectionError" not in public.body
            detailed = await probe(running, "ready", authorization=f"Bearer {HEALTH_TOKEN}")
            assert detailed.status == 503, detailed
            assert SECRET in detailed.body
            wrong = await probe(running, "ready", authorization="Bearer not-the-token")
            assert wrong.status == 401, wrong
            assert SECRET not in wrong.body
            assert (await probe(running, "live")).status == 200

    @requires("health_endpoint")
    @_contract_test
    async def test_health_non_critical_check_warns(self, harness: Harness) -> None:
        """A failing non-critical check degrades readiness to warn and keeps it 200."""
        lp = health_lifespan(critical=False, fail=True)
        async with harness.run(lp, HEALTHY) as running:
            answer = await probe(running, "ready")
            assert answer.status == 200, answer
            assert answer.json()["status"] == "warn"

    @requires("health_endpoint")
    @_contract_test
    async def test_health_draining(self, harness: Harness) -> None:
        """Once the run is draining (a stop signal, or shutdown begun), readiness answers 503 while liveness stays 200."""  # noqa: E501
        lp = health_lifespan()
        async with harness.run(lp, HEALTHY) as running:
            assert (await probe(running, "ready")).status == 200
            lp.mark_draining(HEALTHY.service_type, HEALTHY.environment)
            answer = await probe(running, "ready")
            assert answer.status == 503, answer
            assert answer.json()["checks"]["lifecycle:state"][0]["observedValue"] == "draining"
            assert (await probe(running, "live")).status == 200
