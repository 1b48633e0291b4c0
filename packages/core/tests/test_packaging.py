from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

import asgi_lifecycle
from asgi_lifecycle import Lifespan, LifespanContext


def test_installed_metadata_declares_no_dependency() -> None:
    """The core distribution depends on nothing but through its two optional extras."""
    distribution = importlib.metadata.distribution("asgi-lifecycle")
    requires = distribution.requires or []
    assert [r for r in requires if "extra ==" not in r] == []
    assert sorted(r.split(";")[0].strip() for r in requires) == [
        "opentelemetry-api>=1.20",
        "prometheus-client>=0.17",
    ]
    assert sorted(distribution.metadata.get_all("Provides-Extra") or []) == [
        "opentelemetry",
        "prometheus",
    ]
    assert distribution.version == asgi_lifecycle.__version__


def test_import_loads_only_the_standard_library() -> None:
    """Importing asgi_lifecycle loads no module from outside the standard library."""
    probe = (
        "import sys, json; before = set(sys.modules); import asgi_lifecycle; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    output = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = json.loads(output)
    foreign = [
        name
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] != "asgi_lifecycle"
    ]
    assert foreign == []
    assert "asgi_lifecycle" in loaded


def test_import_loads_neither_integration_library() -> None:
    """Importing asgi_lifecycle imports neither prometheus_client nor opentelemetry."""
    probe = (
        "import sys, json; import asgi_lifecycle; "
        "print(json.dumps(sorted(n for n in sys.modules "
        "if n.split('.')[0] in ('prometheus_client', 'opentelemetry'))))"
    )
    run = [sys.executable, "-I", "-c"]
    loaded = subprocess.run(
        [*run, probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(loaded) == []
    # Both are installed here: the integrations, imported on purpose, do load them.
    probe = (
        "import sys, json; import asgi_lifecycle.prometheus, asgi_lifecycle.opentelemetry; "
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules} "
        "& {'prometheus_client', 'opentelemetry'})))"
    )
    loaded = subprocess.run(
        [*run, probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(loaded) == ["opentelemetry", "prometheus_client"]


def test_import_leaves_what_a_process_may_never_use_for_later() -> None:
    """Importing asgi_lifecycle and registering hooks loads no runner, health or config module."""
    probe = (
        "import sys, json; import asgi_lifecycle; "
        "asgi_lifecycle.lifespan.on_start(lambda: None); "
        "print(json.dumps(sorted(n for n in sys.modules if n.startswith('asgi_lifecycle.'))))"
    )
    run = [sys.executable, "-I", "-c"]
    loaded = json.loads(
        subprocess.run([*run, probe], capture_output=True, text=True, check=True, timeout=60).stdout
    )
    later = ["_blocking", "_config", "_endpoint", "_health", "_middleware", "_probes", "_runner"]
    assert [name for name in later if f"asgi_lifecycle.{name}" in loaded] == []
    # Each name is still there, from its module, on first use.
    probe = (
        "import json, asgi_lifecycle as a; "
        "print(json.dumps([a.BlockingRunner.__module__, a.load_settings.__module__, "
        "a.HealthServer.__module__, a.LifespanMiddleware.__module__]))"
    )
    modules = json.loads(
        subprocess.run([*run, probe], capture_output=True, text=True, check=True, timeout=60).stdout
    )
    assert modules == [
        "asgi_lifecycle",
        "asgi_lifecycle._config",
        "asgi_lifecycle",
        "asgi_lifecycle",
    ]


def test_an_unknown_name_is_an_attribute_error() -> None:
    """A name the package does not have raises AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="has no attribute 'lifecylce'"):
        asgi_lifecycle.lifecylce  # noqa: B018


def test_repr_names_the_running_runs() -> None:
    """A Lifespan's repr counts its hooks and names the runs in progress."""
    owner = Lifespan()
    owner.on_start(lambda: None)
    assert repr(owner) == "<Lifespan hooks=1 running=[]>"
    context = LifespanContext("worker", "production")
    with owner.run_blocking(context):
        assert repr(owner) == "<Lifespan hooks=1 running=[('worker', 'production')]>"
    assert repr(owner) == "<Lifespan hooks=1 running=[]>"
