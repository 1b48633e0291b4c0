"""The context every hook receives."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ("ENVIRONMENT_VARIABLE", "LifespanContext")

ENVIRONMENT_VARIABLE = "ASGI_LIFECYCLE_ENV"
_MISSING: Any = object()


class LifespanContext:
    """What a hook receives: who is running, where, with which settings.

    A run is identified by its `Lifespan`, `service_type` and `environment`, not by
    this object: a second context with the same two values (for example one built
    again at shutdown) is attached to the running run and shares its `metadata`
    and `state` dictionaries.

    Args:
        service_type: The kind of process, such as ``"app"``, ``"api"``,
            ``"worker"``, ``"scheduler"`` or ``"test"`` (see `ServiceType`); any
            string is allowed. Default: ``"app"``, or the configured
            ``service_type`` when the process-wide `lifespan` starts it.
        environment: The deployment environment. Defaults to the
            ``ASGI_LIFECYCLE_ENV`` environment variable, then (when the
            process-wide `lifespan` starts it) the configured ``environment``,
            then ``"development"``.
        config: Settings for the hooks, read with `get_config`. Default: the
            configured ``config`` when the process-wide `lifespan` starts it.
        metadata: Initial values shared between hooks of the run.

    Attributes:
        service_type: The kind of process.
        environment: The deployment environment.
        config: The settings mapping (never ``None``).
        metadata: Values hooks share with each other (`set_metadata`).
        state: Values published to request handlers and tasks: the web adapters
            copy it into the ASGI lifespan state (``request.state``), the Celery
            adapter hands it to tasks. Resources publish what they yield here.
    """

    __slots__ = ("_defaulted", "config", "environment", "metadata", "service_type", "state")

    def __init__(
        self,
        service_type: str | None = None,
        environment: str | None = None,
        config: Mapping[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        # What was left to its default: the process-wide lifespan fills it in from the
        # configuration ([tool.asgi-lifecycle], ASGI_LIFECYCLE_*) at startup.
        self._defaulted: frozenset[str] = frozenset(
            name
            for name, value in (
                ("service_type", service_type),
                ("environment", environment),
                ("config", config),
            )
            if value is None
        )
        if service_type is None:
            service_type = "app"
        if not isinstance(service_type, str) or not service_type:
            raise TypeError(
                f"LifespanContext(service_type=...) must be a non-empty string such as 'app' "
                f"or 'worker', got {service_type!r}"
            )
        if environment is None:
            environment = os.environ.get(ENVIRONMENT_VARIABLE) or "development"
        elif not isinstance(environment, str) or not environment:
            raise TypeError(
                f"LifespanContext(environment=...) must be a non-empty string such as "
                f"'production', or None to read ${ENVIRONMENT_VARIABLE}, got {environment!r}"
            )
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(
                f"LifespanContext(config=...) must be a mapping, got {type(config).__name__}"
            )
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(
                f"LifespanContext(metadata=...) must be a dict, got {type(metadata).__name__}"
            )
        self.service_type: str = str(service_type)
        self.environment: str = environment
        self.config: Mapping[str, Any] = config if config is not None else {}
        self.metadata: dict[str, Any] = metadata if metadata is not None else {}
        self.state: dict[str, Any] = {}

    def get_config(self, key: str, default: Any = None) -> Any:
        """Return a config value; dotted keys (``"db.pool.size"``) walk nested mappings.

        An exact key that contains dots wins over the nested lookup.

        Args:
            key: The key, plain or dotted.
            default: What to return when the key is missing.

        Returns:
            The value, or ``default``.
        """
        if key in self.config:
            return self.config[key]
        node: Any = self.config
        for part in key.split("."):
            if not isinstance(node, Mapping):
                return default
            node = node.get(part, _MISSING)
            if node is _MISSING:
                return default
        return node

    def set_metadata(self, key: str, value: Any) -> None:
        """Store a value for later hooks of the same run (shutdown hooks included)."""
        self.metadata[key] = value

    def get_metadata(self, key: str, default: Any = None) -> Any:
        """Return a value stored with `set_metadata`, or ``default``."""
        return self.metadata.get(key, default)

    def __repr__(self) -> str:
        return (
            f"LifespanContext(service_type={self.service_type!r}, "
            f"environment={self.environment!r}, state_keys={sorted(self.state)!r})"
        )
