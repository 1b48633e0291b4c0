"""An in-memory record of what ran: `LifecycleRecorder`."""

from __future__ import annotations

import threading
from typing import Any

from asgi_lifecycle import HookResult, Lifespan

__all__ = ("LifecycleRecorder",)


class LifecycleRecorder:
    """Collects what hooks did, so that tests assert on lists instead of mocks.

    Hooks call `record` (from any thread); `watch` also collects every
    `HookResult` a `Lifespan` reports. Then assert, e.g.
    ``recorder.events == [("start", "db"), ("stop", "db")]``.

    Attributes:
        events: ``(action, name)`` pairs, in the order hooks recorded them.
        values: Values hooks noted with `note`, by key.
        results: Every `HookResult` of the watched lifespans, in order.
    """

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.values: dict[str, Any] = {}
        self.results: list[HookResult] = []
        self._lock = threading.Lock()

    def record(self, action: str, name: str) -> None:
        """Append ``(action, name)`` to `events`."""
        with self._lock:
            self.events.append((action, name))

    def note(self, key: str, value: Any) -> None:
        """Store a value a hook saw, for the test to check."""
        with self._lock:
            self.values[key] = value

    def watch(self, lifespan: Lifespan) -> Lifespan:
        """Collect every `HookResult` of ``lifespan`` in `results`; return ``lifespan``."""
        lifespan.add_listener(self._on_result)
        return lifespan

    def _on_result(self, result: HookResult) -> None:
        with self._lock:
            self.results.append(result)

    @property
    def outcomes(self) -> list[tuple[str, str, str]]:
        """``(action, hook name, outcome)`` of every watched hook run, in order."""
        with self._lock:
            return [(r.action, r.hook.name, r.outcome) for r in self.results]

    def count(self, action: str, name: str) -> int:
        """Return how many times ``(action, name)`` was recorded."""
        with self._lock:
            return self.events.count((action, name))

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self.events.clear()
            self.values.clear()
            self.results.clear()
