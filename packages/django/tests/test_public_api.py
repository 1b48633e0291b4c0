"""The public names: exported, documented, and described in the README."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("module_name", ["asgi_lifecycle_django", "asgi_lifecycle_django.testing"])
def test_public_names_are_exported_documented_and_in_the_readme(module_name: str) -> None:
    """Every name in __all__ exists, has a docstring of its own, and appears in the README."""
    module = importlib.import_module(module_name)
    assert isinstance(module.__all__, tuple)
    for name in module.__all__:
        if name == "__version__":
            continue
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"{module_name}.{name} has no docstring of its own"
        else:
            assert f"`{name}`" in (module.__doc__ or ""), f"{name} is not in the module docstring"
        assert name in README, f"{module_name}.{name} is not in the README"


def test_importing_the_package_needs_no_settings() -> None:
    """The package imports before Django is configured (asgi.py imports it first)."""
    import subprocess
    import sys

    code = "import asgi_lifecycle_django, asgi_lifecycle_django.testing"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
