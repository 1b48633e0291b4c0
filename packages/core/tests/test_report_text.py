from __future__ import annotations

import logging

import pytest

from asgi_lifecycle import (
    CheckResult,
    Hook,
    HookResult,
    LifecycleListener,
    LifecycleReport,
    Lifespan,
    LifespanContext,
)

pytestmark = pytest.mark.anyio

APP = LifespanContext("app", "test")


async def startup_report(lp: Lifespan) -> LifecycleReport:
    """Run the startup and shutdown of ``lp``; return the startup's report."""
    report = await lp.startup(APP)
    await lp.shutdown(APP)
    return report


async def test_a_hook_result_is_immutable_comparable_and_readable(lp: Lifespan) -> None:
    """HookResult refuses assignment, compares by value, hashes, and prints its error."""

    @lp.on_start(name="warm", critical=False)
    def warm() -> None:
        raise ValueError("cache cold")

    (result,) = (await startup_report(lp)).results
    with pytest.raises(AttributeError, match="HookResult is immutable: cannot set 'outcome'"):
        result.outcome = "ok"
    copy = HookResult(
        result.hook,
        result.action,
        result.outcome,
        result.started,
        result.duration,
        result.error,
        result.phase,
        result.service_type,
        result.environment,
    )
    assert copy == result
    assert hash(copy) == hash(result)
    assert {copy, result} == {result}
    assert result != "warm"
    assert repr(result).startswith("HookResult(hook=<Hook start 'warm'")
    assert "outcome='failed'" in repr(result)
    assert str(result).split()[:3] == ["warm", "start", "failed"]
    assert str(result).endswith("ValueError: cache cold")


async def test_a_report_is_immutable_comparable_and_has_no_failures_when_ok(
    lp: Lifespan,
) -> None:
    """LifecycleReport refuses assignment, compares by value, and lists no failures when ok."""

    @lp.on_start(name="fine")
    def fine() -> None:
        return None

    report = await startup_report(lp)
    assert report.ok
    assert report.failures == ()
    with pytest.raises(AttributeError, match="LifecycleReport is immutable: cannot set 'ok'"):
        report.ok = False  # type: ignore[misc]
    copy = LifecycleReport(
        report.phase,
        report.service_type,
        report.environment,
        report.results,
        report.duration,
        report.concurrent,
    )
    assert copy == report
    assert hash(copy) == hash(report)
    assert report != report.results
    assert copy != LifecycleReport("shutdown", "app", "test", report.results, report.duration)


def test_hooks_and_checks_are_immutable_and_name_their_source(lp: Lifespan) -> None:
    """A registered Hook or HealthCheck refuses changes and its repr says where it was defined."""

    @lp.on_start(name="warm")
    def warm() -> None:
        return None

    @lp.health_check(name="db")
    def db() -> None:
        return None

    (hook,) = lp.hooks
    (check,) = lp.health_checks
    with pytest.raises(AttributeError, match="Hook is immutable: cannot set 'priority'"):
        hook.priority = 5
    with pytest.raises(AttributeError, match="Hook is immutable: cannot delete 'name'"):
        del hook.name
    with pytest.raises(AttributeError, match="HealthCheck is immutable: cannot set 'timeout'"):
        check.timeout = 1.0
    assert repr(check) == f"<HealthCheck 'db' at {check.source}>"
    assert "test_report_text.py:" in check.source


def test_a_hook_built_by_hand_equals_its_registered_twin(lp: Lifespan) -> None:
    """Hook(...) with a registered hook's fields registers the same thing, and stays immutable."""

    @lp.on_start(name="warm")
    def warm() -> None:
        return None

    (hook,) = lp.hooks
    twin = Hook(
        hook.name,
        hook.kind,
        hook.func,
        hook.priority,
        hook.service_types,
        hook.environments,
        hook.timeout,
        hook.critical,
        hook.after,
        hook.key,
        hook.source,
        hook.is_async,
        hook.takes_context,
        hook.seq,
    )
    assert twin.same_registration(hook)
    assert repr(twin) == repr(hook)
    with pytest.raises(AttributeError, match="Hook is immutable"):
        twin.name = "other"


def test_a_check_result_tells_what_went_wrong_in_one_line() -> None:
    """CheckResult.output is the error, else the reason; its repr carries it."""
    failed = CheckResult("db", "fail", True, 0.002, 0.0, "app", "test", error=OSError("refused"))
    skipped = CheckResult("db", "fail", True, 0.0, 0.0, "app", "test", reason="after 'x' failed")
    passed = CheckResult("db", "pass", True, 0.001, 0.0, "app", "test")
    assert failed.output == "OSError: refused"
    assert skipped.output == "after 'x' failed"
    assert (passed.ok, passed.output, failed.ok) == (True, None, False)
    assert repr(failed) == (
        "CheckResult(name='db', status='fail', duration=0.002000, output='OSError: refused')"
    )


async def test_a_listener_that_raises_is_logged_and_the_run_goes_on(
    lp: Lifespan, caplog: pytest.LogCaptureFixture
) -> None:
    """A listener that raises is logged with its traceback; the startup still succeeds."""

    class Broken(LifecycleListener):
        def phase_started(self, phase: str, service_type: str, environment: str) -> None:
            raise RuntimeError("listener bug")

    @lp.on_start(name="warm")
    def warm() -> None:
        return None

    lp.add_listener(Broken())
    with caplog.at_level(logging.ERROR, logger="asgi_lifecycle"):
        report = await startup_report(lp)
    assert report.ok
    failures = [r for r in caplog.records if r.getMessage().startswith("listener")]
    assert failures
    assert failures[0].exc_info is not None
    assert "listener bug" in str(failures[0].exc_info[1])


def test_bad_context_arguments_are_refused_by_name() -> None:
    """LifespanContext refuses an empty environment and a non-dict metadata, naming each."""
    with pytest.raises(TypeError, match=r"LifespanContext\(environment=\.\.\.\) must be"):
        LifespanContext("app", "")
    with pytest.raises(TypeError, match=r"LifespanContext\(metadata=\.\.\.\) must be a dict"):
        LifespanContext("app", "test", metadata=[("a", 1)])  # type: ignore[arg-type]


def test_a_dotted_config_key_through_a_plain_value_gives_the_default() -> None:
    """get_config returns the default when a dotted key walks into a value that is no mapping."""
    context = LifespanContext("app", "test", {"db": {"url": "sqlite://"}, "port": 80})
    assert context.get_config("db.url") == "sqlite://"
    assert context.get_config("port.number", "none") == "none"
    assert context.get_config("db.url.scheme") is None


def test_a_context_repr_names_the_run_and_its_state_keys() -> None:
    """repr(LifespanContext) names the service type, the environment and the state keys."""
    context = LifespanContext("worker", "prod")
    context.state.update(db=1, cache=2)
    assert repr(context) == (
        "LifespanContext(service_type='worker', environment='prod', state_keys=['cache', 'db'])"
    )
