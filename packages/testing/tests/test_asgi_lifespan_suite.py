"""asgi-lifespan's own test suite, run against our LifespanManager under asgi-lifespan's name.

The test fetches asgi-lifespan's sdist from PyPI (pinned, checked against PyPI's
sha256), builds a throwaway virtualenv with the versions of Starlette, httpx and
pytest-asyncio its ``tests/`` were written for (Starlette 1.0 dropped
``Router(on_startup=...)`` and httpx 0.28 ``AsyncClient(app=...)``, both used there), and
runs its ``tests/test_manager.py``, unchanged, three times in a subprocess:

1. against asgi-lifespan itself (the control: the run is sound);
2. against a shim package named ``asgi_lifespan`` whose ``LifespanManager`` and
   ``LifespanNotSupported`` are ours, with our defaults;
3. the same shim with ``shutdown_on_error=False``, asgi-lifespan's exit behaviour.

Only the asyncio cases run (our manager is asyncio only). The shim's ``_types`` are
ours; its ``_concurrency`` subpackage (and the ``_compat`` it needs) are asgi-lifespan's,
copied from the sdist: the test helpers (``tests/concurrency.py``) dispatch on its backend
classes, and our manager does not use them. Nothing fetched is written outside the test's tmp_path.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

ASGI_LIFESPAN = "2.1.0"
# What asgi-lifespan 2.1.0's tests ran with (its requirements.txt, 2023).
VENV_REQUIREMENTS = (
    "pytest==8.3.5",
    "pytest-asyncio==0.23.8",
    "trio==0.27.0",  # tests/concurrency.py imports it; the trio cases are deselected
    "starlette==0.37.2",
    "httpx==0.27.2",
    "sniffio==1.3.1",
)
ROOT = Path(__file__).resolve().parents[3]
OUR_SOURCES = (ROOT / "packages" / "core" / "src", ROOT / "packages" / "testing" / "src")
NETWORK_TIMEOUT = 30.0
INSTALL_TIMEOUT = 300.0
RUN_TIMEOUT = 120.0

# The one deliberate difference, with our defaults: when the `async with` block raises,
# our manager shuts the app down (sends lifespan.shutdown) before the error propagates, as a
# server would; asgi-lifespan cancels the app instead. The test asserts the exact messages
# exchanged, so both cases fail under our defaults, and pass with shutdown_on_error=False.
BODY_ERROR_RUNS_SHUTDOWN = (
    "our default shutdown_on_error=True sends lifespan.shutdown after the block raised; "
    "asgi-lifespan cancels the app (shutdown_on_error=False)"
)
EXPECTED_FAILURES_WITH_DEFAULTS = {
    "test_lifespan_manager[asyncio-None-BodyFailed-None]": BODY_ERROR_RUNS_SHUTDOWN,
    "test_lifespan_manager[asyncio-ShutdownFailed-BodyFailed-None]": BODY_ERROR_RUNS_SHUTDOWN,
}
# Marked xfail by asgi-lifespan itself ("No way for us to detect unsupported lifespan").
UPSTREAM_XFAIL = "test_lifespan_not_supported[asyncio-http_no_assert_before_receive_request]"
ASYNCIO_CASES = 16  # 15 cases, and the upstream xfail

SHIM_INIT = '''\
"""A shim: asgi-lifespan's import name, asgi_lifecycle_testing's manager."""

import os

from asgi_lifecycle_testing import LifespanManager as _LifespanManager
from asgi_lifecycle_testing import LifespanNotSupported

__version__ = "2.1.0"
__all__ = ["LifespanManager", "LifespanNotSupported", "__version__"]

if os.environ.get("ASGI_LIFESPAN_SHIM") == "compat":

    class LifespanManager(_LifespanManager):
        def __init__(self, app, startup_timeout=5, shutdown_timeout=5):
            super().__init__(app, startup_timeout, shutdown_timeout, shutdown_on_error=False)

else:
    LifespanManager = _LifespanManager
'''
SHIM_TYPES = "from asgi_lifecycle.types import ASGIApp, Message, Receive, Scope, Send\n"


@dataclass(frozen=True)
class Suite:
    """asgi-lifespan's extracted sdist and the virtualenv its tests run in."""

    source: Path  # the extracted sdist: setup.cfg, src/, tests/
    python: Path  # the virtualenv's interpreter
    shim: Path  # the directory holding the shim package `asgi_lifespan`


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT) as response:
        data: bytes = response.read()
        return data


def _run(
    command: list[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command in its own process group, killed whole if it outlives ``timeout``."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        cwd=cwd,
        env=env,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    finally:
        if process.poll() is None:  # pragma: no cover
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return subprocess.CompletedProcess(command, process.returncode, output, None)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    """Fetch asgi-lifespan's sdist, extract it, and build the virtualenv for its tests."""
    base = tmp_path_factory.mktemp("asgi-lifespan")
    try:
        project = json.loads(_fetch("https://pypi.org/pypi/asgi-lifespan/json"))
        (sdist,) = (f for f in project["releases"][ASGI_LIFESPAN] if f["packagetype"] == "sdist")
        archive = _fetch(sdist["url"])
    except urllib.error.HTTPError:
        raise  # PyPI answered: a missing release is a failure, not a skip
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        pytest.skip(f"PyPI is unreachable, asgi-lifespan's sdist cannot be fetched: {error}")
    assert hashlib.sha256(archive).hexdigest() == sdist["digests"]["sha256"]
    (base / sdist["filename"]).write_bytes(archive)
    with tarfile.open(base / sdist["filename"]) as tar:
        tar.extractall(base, filter="data")
    source = base / f"asgi_lifespan-{ASGI_LIFESPAN}"
    if not source.is_dir():
        source = base / f"asgi-lifespan-{ASGI_LIFESPAN}"
    assert (source / "tests" / "test_manager.py").is_file(), sorted(base.iterdir())

    shim = base / "shim"
    package = shim / "asgi_lifespan"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(SHIM_INIT)
    (package / "_types.py").write_text(SHIM_TYPES)
    upstream = source / "src" / "asgi_lifespan"
    (package / "_concurrency").mkdir()
    for module in [upstream / "_compat.py", *(upstream / "_concurrency").glob("*.py")]:
        (package / module.relative_to(upstream)).write_text(module.read_text())

    venv = base / "venv"
    created = _run([sys.executable, "-m", "venv", str(venv)], timeout=INSTALL_TIMEOUT)
    assert created.returncode == 0, created.stdout
    python = venv / "bin" / "python"
    installed = _run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", *VENV_REQUIREMENTS],
        timeout=INSTALL_TIMEOUT,
    )
    if installed.returncode != 0 and "NewConnectionError" in installed.stdout:
        pytest.skip(
            f"PyPI is unreachable, the test dependencies cannot be installed:\n{installed.stdout}"
        )
    assert installed.returncode == 0, installed.stdout
    return Suite(source, python, shim)


def run_suite(suite: Suite, manager: str, report: Path) -> dict[str, str]:
    """Run asgi-lifespan's tests/test_manager.py (asyncio cases); return each case's outcome."""
    if manager == "asgi-lifespan":
        path = [suite.source / "src"]
        mode = ""
        plugins = []
    else:
        path = [suite.shim, *OUR_SOURCES]
        mode = manager
        plugins = ["-p", "asgi_lifecycle_testing.plugin"]  # as installed, by its entry point
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(p) for p in path),
        "ASGI_LIFESPAN_SHIM": mode,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    result = _run(
        [
            str(suite.python),
            "-m",
            "pytest",
            "tests/test_manager.py",
            "-k",
            "asyncio",
            "-o",
            "addopts=",  # its setup.cfg asks for pytest-cov
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            "-q",
            *plugins,
        ],
        timeout=RUN_TIMEOUT,
        cwd=suite.source,
        env=env,
    )
    assert report.is_file(), result.stdout
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[name] = "failed"
        elif (skipped := case.find("skipped")) is not None:
            outcomes[name] = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
        else:
            outcomes[name] = "passed"
    assert len(outcomes) == ASYNCIO_CASES, result.stdout
    return outcomes


def expected(failures: dict[str, str], outcomes: dict[str, str]) -> dict[str, str]:
    """The outcome each case must have: passed, but for the upstream xfail and ``failures``."""
    return {
        name: "xfailed" if name == UPSTREAM_XFAIL else "failed" if name in failures else "passed"
        for name in outcomes
    }


def test_control_asgi_lifespan_passes_its_own_suite(suite: Suite, tmp_path: Path) -> None:
    """asgi-lifespan itself passes its asyncio cases in the environment the test builds."""
    outcomes = run_suite(suite, "asgi-lifespan", tmp_path / "report.xml")
    assert outcomes == expected({}, outcomes)


def test_our_manager_passes_it_but_for_the_deliberate_difference(
    suite: Suite, tmp_path: Path
) -> None:
    """Our LifespanManager with its defaults passes every case but the two where the block raises."""  # noqa: E501
    outcomes = run_suite(suite, "default", tmp_path / "report.xml")
    assert set(EXPECTED_FAILURES_WITH_DEFAULTS) <= set(outcomes)
    assert outcomes == expected(EXPECTED_FAILURES_WITH_DEFAULTS, outcomes)


def test_our_manager_passes_it_with_shutdown_on_error_false(suite: Suite, tmp_path: Path) -> None:
    """Our LifespanManager with shutdown_on_error=False passes every asyncio case of asgi-lifespan's suite."""  # noqa: E501
    outcomes = run_suite(suite, "compat", tmp_path / "report.xml")
    assert outcomes == expected({}, outcomes)
