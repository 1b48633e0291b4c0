"""Fixtures of the Celery adapter's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._harness import Harness


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    """A broker folder and the celery processes started on it, all killed at the end."""
    running = Harness(tmp_path)
    try:
        yield running
    finally:
        running.close()
