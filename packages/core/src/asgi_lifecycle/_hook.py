"""What a hook is: the immutable description of one registration.

The bottom of the core: it imports nothing of the package. `_validation` builds
`Hook` objects, `_registry` stores them, `_runner` calls them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Literal

__all__ = ("HealthCheck", "Hook", "HookKind", "ServiceType", "new_hook")

HookKind = Literal["start", "shutdown", "resource"]

_FIELDS = (
    "name",
    "kind",
    "func",
    "priority",
    "service_types",
    "environments",
    "timeout",
    "critical",
    "after",
    "key",
    "source",
    "is_async",
    "takes_context",
    "seq",
    "key_given",
    "check",
)


class ServiceType(enum.StrEnum):
    """The usual kinds of process. Any other string is accepted as a service type too."""

    APP = "app"
    API = "api"
    WORKER = "worker"
    SCHEDULER = "scheduler"
    TEST = "test"


class _HookFields:
    """A hook's fields, settable: `new_hook` fills one in and turns it into a `Hook` at once."""

    __slots__ = _FIELDS

    name: str
    kind: HookKind
    func: Callable[..., Any]
    priority: int
    service_types: frozenset[str] | None
    environments: frozenset[str] | None
    timeout: float | None
    critical: bool
    after: tuple[str, ...]
    key: str | None
    source: str
    is_async: bool
    takes_context: bool
    seq: int
    key_given: bool
    check: str | None

    def __init__(
        self,
        name: str,
        kind: HookKind,
        func: Callable[..., Any],
        priority: int,
        service_types: frozenset[str] | None,
        environments: frozenset[str] | None,
        timeout: float | None,
        critical: bool,
        after: tuple[str, ...],
        key: str | None,
        source: str,
        is_async: bool,
        takes_context: bool,
        seq: int,
        key_given: bool = False,
        check: str | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.func = func
        self.priority = priority
        self.service_types = service_types
        self.environments = environments
        self.timeout = timeout
        self.critical = critical
        self.after = after
        self.key = key
        self.source = source
        self.is_async = is_async
        self.takes_context = takes_context
        self.seq = seq
        self.key_given = key_given
        self.check = check


class Hook(_HookFields):
    """An immutable description of one registered hook.

    Attributes:
        name: Unique name in its registry (default ``module.qualname``).
        kind: ``"start"``, ``"shutdown"`` or ``"resource"``.
        func: The registered function, unchanged.
        priority: The phase: the lowest phase starts first and stops last.
        service_types: The service types it runs for; ``None`` means all.
        environments: The environments it runs in; ``None`` means all.
        timeout: Seconds it may take, or ``None`` for no limit of its own.
        critical: Whether its failure at startup stops the startup.
        after: Names of hooks this one depends on: it starts after them and stops
            before them.
        key: For a resource, the ``context.state`` key its yielded value is
            published under; ``None`` for other hooks.
        source: ``file:line`` where the function was defined.
        is_async: Whether it is called on the event loop (else in a thread).
        takes_context: Whether it is called with the `LifespanContext`.
        seq: Its registration number in its registry (orders hooks of one phase).
        key_given: Whether ``key`` was given explicitly (a clash is then certain).
        check: The name of the health check a resource carries (``check=``), or
            ``None``.
    """

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = _HookFields(*args, **kwargs)
        for field in _FIELDS:
            object.__setattr__(self, field, getattr(fields, field))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Hook is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Hook is immutable: cannot delete {name!r}")

    def matches(self, service_type: str, environment: str) -> bool:
        """Return whether this hook runs for the given service type and environment."""
        return (self.service_types is None or service_type in self.service_types) and (
            self.environments is None or environment in self.environments
        )

    def same_registration(self, other: Hook) -> bool:
        """Return whether ``other`` registers the same function in the same way."""
        return (
            self.func is other.func
            and self.kind == other.kind
            and self.priority == other.priority
            and self.service_types == other.service_types
            and self.environments == other.environments
            and self.timeout == other.timeout
            and self.critical == other.critical
            and self.after == other.after
            and self.key == other.key
            and self.check == other.check
        )

    def __repr__(self) -> str:
        return f"<Hook {self.kind} {self.name!r} priority={self.priority} at {self.source}>"


_set_class = object.__setattr__


def new_hook(*args: Any) -> Hook:
    """Build a `Hook` from its fields in order: the registry's way, cheaper than ``Hook(...)``.

    A frozen dataclass (or an immutable class) pays a call per field stored; with
    10,000 hooks that was most of the registration time. Here the fields are stored
    plainly on a `_HookFields`, whose class then becomes `Hook`, which refuses any
    further assignment.
    """
    hook = _HookFields(*args)
    _set_class(hook, "__class__", Hook)
    return hook  # type: ignore[return-value]  # it is a Hook now


class HealthCheck:
    """An immutable description of one registered health check.

    Attributes:
        name: Unique name among the registry's checks.
        func: The check function, unchanged.
        resource: The name of the resource whose yielded value the check receives
            (``@lifespan.resource(check=...)``), or ``None``.
        service_types: The service types it runs for; ``None`` means all.
        environments: The environments it runs in; ``None`` means all.
        timeout: Seconds it may take before it counts as failed.
        critical: Whether its failure makes the process not ready (else: degraded).
        after: Names of hooks that must have started for the check to pass.
        source: ``file:line`` where the function was defined.
        is_async: Whether it is called on the event loop (else in a thread).
        takes_argument: Whether it is called with one argument: the resource's
            value for a resource's check, else the `LifespanContext`.
    """

    __slots__ = (
        "after",
        "critical",
        "environments",
        "func",
        "is_async",
        "name",
        "resource",
        "service_types",
        "source",
        "takes_argument",
        "timeout",
    )

    name: str
    func: Callable[..., Any]
    resource: str | None
    service_types: frozenset[str] | None
    environments: frozenset[str] | None
    timeout: float
    critical: bool
    after: tuple[str, ...]
    source: str
    is_async: bool
    takes_argument: bool

    def __init__(
        self,
        name: str,
        func: Callable[..., Any],
        resource: str | None,
        service_types: frozenset[str] | None,
        environments: frozenset[str] | None,
        timeout: float,
        critical: bool,
        after: tuple[str, ...],
        source: str,
        is_async: bool,
        takes_argument: bool,
    ) -> None:
        for field, value in (
            ("name", name),
            ("func", func),
            ("resource", resource),
            ("service_types", service_types),
            ("environments", environments),
            ("timeout", timeout),
            ("critical", critical),
            ("after", after),
            ("source", source),
            ("is_async", is_async),
            ("takes_argument", takes_argument),
        ):
            object.__setattr__(self, field, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"HealthCheck is immutable: cannot set {name!r}")

    def matches(self, service_type: str, environment: str) -> bool:
        """Return whether this check applies to the given service type and environment."""
        return (self.service_types is None or service_type in self.service_types) and (
            self.environments is None or environment in self.environments
        )

    def __repr__(self) -> str:
        return f"<HealthCheck {self.name!r} at {self.source}>"
