"""The pytest plugin of asgi-lifecycle-testing (entry point ``pytest11``: ``asgi_lifecycle``).

It registers the ``requires`` marker, turns each `LifecycleContract`
subclass's ``expected_failures`` into strict xfails, and offers the
``lifecycle_recorder`` and ``lifecycle_registry`` fixtures. It never imports a
framework.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from asgi_lifecycle import Lifespan

from ._contract import LifecycleContract
from ._recorder import LifecycleRecorder

__all__ = (
    "lifecycle_recorder",
    "lifecycle_registry",
    "pytest_collection_modifyitems",
    "pytest_configure",
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the suite's marker."""
    config.addinivalue_line(
        "markers",
        "requires(*capabilities): the test needs these asgi_lifecycle_testing.Capabilities; "
        "it is skipped when the adapter lacks one",
    )


def _expected_failures(cls: type[LifecycleContract]) -> Mapping[str, str]:
    declared = cls.expected_failures
    where = f"{cls.__module__}.{cls.__qualname__}.expected_failures"
    if not isinstance(declared, Mapping):
        raise pytest.UsageError(f"{where} must be a mapping of test name to reason")
    for name, reason in declared.items():
        if not (isinstance(name, str) and name.startswith("test_") and hasattr(cls, name)):
            known = sorted(n for n in dir(LifecycleContract) if n.startswith("test_"))
            raise pytest.UsageError(
                f"{where} names {name!r}, which is no test of the contract; known tests: "
                f"{', '.join(known)}"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise pytest.UsageError(f"{where}[{name!r}] needs a reason (a non-empty string)")
    return declared


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test a contract subclass declares in ``expected_failures`` as a strict xfail."""
    checked: dict[type[LifecycleContract], Mapping[str, str]] = {}
    for item in items:
        cls = getattr(item, "cls", None)
        if not (isinstance(cls, type) and issubclass(cls, LifecycleContract)):
            continue
        if cls not in checked:
            checked[cls] = _expected_failures(cls)
        reason = checked[cls].get(getattr(item, "originalname", item.name))
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


@pytest.fixture
def lifecycle_recorder() -> LifecycleRecorder:
    """A fresh `LifecycleRecorder` for the test."""
    return LifecycleRecorder()


@pytest.fixture
def lifecycle_registry(lifecycle_recorder: LifecycleRecorder) -> Lifespan:
    """A fresh `Lifespan` of the test's own, every hook run recorded by ``lifecycle_recorder``."""
    return lifecycle_recorder.watch(Lifespan())
