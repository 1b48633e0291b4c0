"""The contract, run against the reference harness: a bare ASGI app in LifespanMiddleware."""

from __future__ import annotations

import pytest

from asgi_lifecycle_testing import Harness, LifecycleContract, ReferenceHarness


class TestReferenceContract(LifecycleContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return ReferenceHarness()
