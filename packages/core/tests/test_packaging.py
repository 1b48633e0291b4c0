from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import asgi_lifecycle


def test_installed_metadata_declares_no_dependency() -> None:
    """The core distribution depends on nothing outside the standard library."""
    distribution = importlib.metadata.distribution("asgi-lifecycle")
    assert distribution.requires in (None, [])
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
