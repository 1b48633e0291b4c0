"""Self-tests of the suite: throwaway adapters run through the plugin with pytester."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

import asgi_lifecycle_testing
from asgi_lifecycle_testing import LifecycleContract, Settings, plugin

pytest_plugins = ("pytester",)

CONTRACT_TESTS = sorted(name for name in dir(LifecycleContract) if name.startswith("test_"))

HEADER = """
import pytest
from asgi_lifecycle import LifespanMiddleware
from asgi_lifecycle_testing import Capabilities, LifecycleContract, ReferenceHarness
"""

# Throwaway adapters, each breaking one rule of the contract.
BROKEN = {
    "drops_state": """
class Broken(ReferenceHarness):
    def make_app(self, lifespan, settings, probe):
        inner = super().make_app(lifespan, settings, probe)

        async def app(scope, receive, send):
            if scope["type"] == "http":
                scope["state"] = {}
            await inner(scope, receive, send)

        return app
""",
    "ignores_config": """
class Broken(ReferenceHarness):
    def make_app(self, lifespan, settings, probe):
        inner = super().make_app(lifespan, settings, probe)
        return LifespanMiddleware(
            inner.app, lifespan=lifespan, service_type=settings.service_type,
            environment=settings.environment, health_path=probe.health_path,
            health_token=settings.health_token,
        )
""",
    "shows_health_details": """
class Broken(ReferenceHarness):
    def make_app(self, lifespan, settings, probe):
        inner = super().make_app(lifespan, settings, probe)
        return LifespanMiddleware(
            inner.app, lifespan=lifespan, service_type=settings.service_type,
            environment=settings.environment, config=settings.config,
            health_path=probe.health_path, health_details=True,
        )
""",
    "hides_shutdown_failure": """
class Broken(ReferenceHarness):
    def make_app(self, lifespan, settings, probe):
        inner = super().make_app(lifespan, settings, probe)

        async def app(scope, receive, send):
            async def quiet(message):
                if message["type"] == "lifespan.shutdown.failed":
                    message = {"type": "lifespan.shutdown.complete"}
                await send(message)

            await inner(scope, receive, quiet)

        return app
""",
    "raises_without_reporting": """
class Broken(ReferenceHarness):
    def make_app(self, lifespan, settings, probe):
        inner = super().make_app(lifespan, settings, probe)

        async def app(scope, receive, send):
            async def quiet(message):
                if message["type"] != "lifespan.startup.failed":
                    await send(message)

            await inner(scope, receive, quiet)

        return app
""",
}

ADAPTER = """
class TestAdapter(LifecycleContract):
    expected_failures = {expected}

    @pytest.fixture
    def harness(self):
        return {harness}()

    @pytest.fixture
    def capabilities(self):
        return Capabilities({capabilities})
"""


def write(
    pytester: pytest.Pytester,
    broken: str | None = None,
    *,
    expected: str = "{}",
    capabilities: str = "",
) -> None:
    source = HEADER + (BROKEN[broken] if broken else "")
    harness = "Broken" if broken else "ReferenceHarness"
    source += ADAPTER.format(expected=expected, harness=harness, capabilities=capabilities)
    pytester.makepyfile(test_adapter=source)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "--strict-markers", "-rfEsxX", *args)


def failed(result: pytest.RunResult) -> list[str]:
    return sorted(
        line.split("::")[-1].split(" ")[0]
        for line in result.outlines
        if line.startswith(("FAILED test_adapter.py", "ERROR test_adapter.py"))
    )


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("drops_state", ["test_state_reaches_unit_of_work"]),
        ("ignores_config", ["test_context_carries_settings"]),
        ("shows_health_details", ["test_health_failing_critical_check"]),
        ("hides_shutdown_failure", ["test_shutdown_failure_reported_natively"]),
        (
            "raises_without_reporting",
            [
                "test_critical_failure_reported_natively",
                "test_rollback_order",
                "test_start_again_after_refused_start",
                "test_startup_budget",
                "test_startup_hook_timeout",
                "test_stop_after_refused_start_runs_nothing_again",
                "test_stop_during_startup_rolls_back_and_refuses",
                "test_sync_startup_hook_timeout",
            ],
        ),
    ],
)
def test_broken_adapter_fails_exactly_the_matching_tests(
    pytester: pytest.Pytester, broken: str, expected: list[str]
) -> None:
    """An adapter that breaks one rule fails exactly the contract tests of that rule."""
    write(pytester, broken)
    result = run(pytester)
    assert failed(result) == expected
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == len(expected)
    assert outcomes["passed"] == len(CONTRACT_TESTS) - len(expected) - 1  # one skipped


def test_reference_adapter_passes(pytester: pytest.Pytester) -> None:
    """The reference harness passes every contract test it has the capabilities for."""
    write(pytester)
    result = run(pytester)
    result.assert_outcomes(passed=len(CONTRACT_TESTS) - 1, skipped=1)
    result.stdout.fnmatch_lines(["*adapter lacks capabilities: context_in_work*"])


def test_declared_gap_that_fails_is_an_expected_failure(pytester: pytest.Pytester) -> None:
    """A test named in expected_failures that fails is reported as xfailed with its reason."""
    write(
        pytester,
        "drops_state",
        expected='{"test_state_reaches_unit_of_work": "the framework drops the state (#1)"}',
    )
    result = run(pytester)
    result.assert_outcomes(passed=len(CONTRACT_TESTS) - 2, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["*test_state_reaches_unit_of_work*drops the state (#1)*"])
    assert result.ret == 0


def test_declared_gap_that_passes_fails_the_run(pytester: pytest.Pytester) -> None:
    """A test named in expected_failures that starts passing fails the run (strict xfail)."""
    write(pytester, expected='{"test_startup_order": "order is broken (#2)"}')
    result = run(pytester)
    result.assert_outcomes(passed=len(CONTRACT_TESTS) - 2, skipped=1, failed=1)
    result.stdout.fnmatch_lines(["*XPASS(strict)*order is broken (#2)*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_unknown_expected_failure_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """An expected_failures entry that names no contract test stops the run, naming it."""
    write(pytester, expected='{"test_startup_ordre": "typo"}')
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*names 'test_startup_ordre', which is no test of the contract*"])


def test_expected_failure_needs_a_reason(pytester: pytest.Pytester) -> None:
    """An expected_failures entry without a reason stops the run."""
    write(pytester, expected='{"test_startup_order": ""}')
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*needs a reason (a non-empty string)*"])


def test_missing_capability_skips_with_the_reason(pytester: pytest.Pytester) -> None:
    """A test that requires a capability the adapter lacks is skipped, naming the capability."""
    write(pytester, capabilities="state_in_work=False, overlapping_runs=False")
    result = run(pytester)
    result.assert_outcomes(passed=len(CONTRACT_TESTS) - 4, skipped=4)
    result.stdout.fnmatch_lines(["*adapter lacks capabilities: overlapping_runs*"])
    result.stdout.fnmatch_lines(["*adapter lacks capabilities: state_in_work*"])


def test_harness_not_overridden_is_a_clear_error(pytester: pytest.Pytester) -> None:
    """A subclass that does not override the harness fixture errors, saying what to override."""
    pytester.makepyfile(
        HEADER
        + """
class TestForgotten(LifecycleContract):
    pass
"""
    )
    result = run(pytester, "-k", "test_startup_order")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*override the `harness` fixture*"])


def test_unknown_capability_in_requires_is_an_error(pytester: pytest.Pytester) -> None:
    """A contract test requiring a capability that does not exist errors, listing the known ones."""
    pytester.makepyfile(
        HEADER
        + """
class TestExtra(LifecycleContract):
    @pytest.fixture
    def harness(self):
        return ReferenceHarness()

    @pytest.mark.requires("telepathy")
    def test_extra(self):
        pass
"""
    )
    result = run(pytester, "-k", "test_extra")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*requires('telepathy'): no such capability*"])


def test_contract_is_not_collected_on_its_own(pytester: pytest.Pytester) -> None:
    """Importing the contract into a test module collects nothing until it is subclassed."""
    pytester.makepyfile(HEADER)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_contract_failure_shows_a_diff(pytester: pytest.Pytester) -> None:
    """A failing contract assertion shows the differing events, not a bare AssertionError."""
    write(pytester, "ignores_config")
    result = run(pytester, "-k", "test_context_carries_settings")
    result.stdout.fnmatch_lines(["*Differing items:*", "*'sqlite://contract'*"])


def test_plugin_is_registered_by_its_entry_point(pytestconfig: pytest.Config) -> None:
    """Installing the package registers the plugin under the name asgi_lifecycle."""
    assert pytestconfig.pluginmanager.get_plugin("asgi_lifecycle") is plugin


def test_importing_the_package_imports_no_framework() -> None:
    """Importing the package and its plugin imports no web framework or task queue."""
    code = textwrap.dedent(
        """
        import sys
        import asgi_lifecycle_testing.plugin
        heavy = {"starlette", "fastapi", "django", "litestar", "celery", "httpx", "anyio"}
        print(sorted({name.split(".")[0] for name in sys.modules} & heavy))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_public_names_are_listed_and_documented() -> None:
    """Every public name is in __all__ and has a docstring."""
    # "@py..." names are pytest's assertion rewriting at work on the package.
    public = {name for name in vars(asgi_lifecycle_testing) if not name.startswith(("_", "@"))}
    public -= {"annotations", "pytest", "plugin"}
    assert public == set(asgi_lifecycle_testing.__all__) - {"__version__"}
    for name in asgi_lifecycle_testing.__all__:
        if name != "__version__":
            assert getattr(asgi_lifecycle_testing, name).__doc__, name


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"service_type": ""}, "service_type"), ({"environment": None}, "environment")],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], name: str) -> None:
    """Settings with an empty or missing service type or environment are refused, naming it."""
    with pytest.raises(TypeError, match=name):
        Settings(**kwargs)


def test_settings_make_a_matching_context() -> None:
    """Settings.context() builds a context with the same service type, environment and config."""
    context = Settings("api", "staging", {"a": {"b": 1}}).context()
    assert (context.service_type, context.environment, context.get_config("a.b")) == (
        "api",
        "staging",
        1,
    )
