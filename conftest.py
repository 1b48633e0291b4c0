"""Fixtures shared by every test in the workspace."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio: the core and every adapter are asyncio-based."""
    return "asyncio"
