from __future__ import annotations

import pytest

from asgi_lifecycle import Lifespan


@pytest.fixture
def lp() -> Lifespan:
    """A registry of the test's own, so that tests never share hooks."""
    return Lifespan()


@pytest.fixture
def events() -> list[str]:
    """What the hooks of a test did, in order."""
    return []
