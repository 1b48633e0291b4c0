"""The public names: listed, documented, and typed."""

from __future__ import annotations

import inspect
from pathlib import Path

import asgi_lifecycle_fastapi

README = (Path(__file__).parent.parent / "README.md").read_text()
PUBLIC = [name for name in asgi_lifecycle_fastapi.__all__ if name != "__version__"]


def test_every_public_name_is_documented() -> None:
    """Every public name exists, has a docstring if it can, and is explained in the README."""
    for name in PUBLIC:
        obj = getattr(asgi_lifecycle_fastapi, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
        if inspect.isclass(obj):
            assert obj.__module__ == "asgi_lifecycle_fastapi", f"{name} reports a private module"
        assert f"`{name}" in README, f"the README does not explain {name}"


def test_nothing_public_is_left_out() -> None:
    """Every public-looking name of the package is in __all__."""
    names = {
        name
        for name, obj in vars(asgi_lifecycle_fastapi).items()
        if not name.startswith("_") and not inspect.ismodule(obj) and name != "annotations"
    }
    assert names == set(PUBLIC)


def test_the_package_is_typed() -> None:
    """The package ships its py.typed marker."""
    assert (Path(asgi_lifecycle_fastapi.__file__).parent / "py.typed").exists()
