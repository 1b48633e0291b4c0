"""Every package's public names are in a tuple __all__, exist, and are documented."""

from __future__ import annotations

import importlib
import inspect
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = sorted(
    path.name
    for pyproject in ROOT.glob("packages/*/pyproject.toml")
    for path in (pyproject.parent / "src").iterdir()
    if path.is_dir() and (path / "__init__.py").exists()
)


def public_modules(package: str) -> list[str]:
    names = [package]
    source = ROOT / "packages"
    for init in source.glob(f"*/src/{package}/*.py"):
        if not init.name.startswith("_"):
            names.append(f"{package}.{init.stem}")
    return names


def _defined_in(value: object, module_name: str, package: str) -> bool:
    """Defined in this module, or (for the package itself) in one of its private modules."""
    origin = getattr(value, "__module__", "") or ""
    return origin == module_name or (module_name == package and origin.startswith(f"{package}._"))


@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_are_listed_and_documented(package: str) -> None:
    """A public module has a tuple __all__ of names that exist and carry a docstring."""
    for module_name in public_modules(package):
        module = importlib.import_module(module_name)
        assert module.__doc__, f"{module_name} has no docstring"
        exported = getattr(module, "__all__", None)
        assert isinstance(exported, tuple), f"{module_name}.__all__ must be a tuple"
        for name in exported:
            assert hasattr(module, name), f"{module_name}.__all__ names missing {name!r}"
            value = getattr(module, name)
            if name.startswith("__"):
                continue
            if inspect.isclass(value) or inspect.isfunction(value) or inspect.ismethod(value):
                assert inspect.getdoc(value), f"{module_name}.{name} has no docstring"

        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isclass(value) or inspect.isfunction(value))
            and _defined_in(value, module_name, package)
        }
        assert public <= set(exported), (
            f"{module_name}: public but not in __all__: {public - set(exported)}"
        )


def test_every_package_is_checked() -> None:
    """The workspace's packages are all found by the public-API check."""
    assert "asgi_lifecycle" in PACKAGES
