"""The registry: which hooks are registered, checked against each other, and planned.

A registration is validated by itself (`_validation`), then against the hooks
already there: its name, its ``after=`` edges (no higher phase, no cycle), its
state key. Nothing is stored unless every check passed. Plans are cached per
service type and environment until the next registration.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._errors import HookRegistrationError
from ._hook import HealthCheck, Hook, HookKind
from ._validation import (
    CHECK_OPTIONS,
    OPTIONS,
    check_options,
    close_match,
    default_name,
    make_check,
    make_hook,
    registered_at,
)

if TYPE_CHECKING:
    from ._plan import Plan

__all__ = ("Registry",)

logger = logging.getLogger("asgi_lifecycle")


class Registry:
    """The hooks of one `Lifespan`, by name, in registration order.

    Attributes:
        lock: Held while the hooks change or a plan is built.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._hooks: dict[str, Hook] = {}
        self._dependents: dict[str, list[str]] = {}
        self._keys: dict[str, list[Hook]] = {}
        self._seq = 0
        self._version = 0
        self._plans: dict[tuple[str, str], tuple[int, Plan]] = {}
        self._checks: dict[str, HealthCheck] = {}

    def __len__(self) -> int:
        return len(self._hooks)

    @property
    def hooks(self) -> tuple[Hook, ...]:
        """Every registered hook, in registration order."""
        with self.lock:
            return tuple(self._hooks.values())

    def get(self, name: str) -> Hook | None:
        """The hook registered under ``name``, if any."""
        return self._hooks.get(name)

    @property
    def version(self) -> int:
        """A number that changes whenever the registered hooks change."""
        return self._version

    def add(self, kind: HookKind, verb: str, func: Any, options: dict[str, Any]) -> Hook | None:
        """Validate and register one hook; return it, or ``None`` if it was already there.

        Raises:
            TypeError: an unknown option.
            HookRegistrationError: anything wrong with the hook; nothing is registered.
        """
        if options and not options.keys() <= OPTIONS[kind]:
            check_options(kind, verb, options)  # raises, naming the option
        with self.lock:
            after = options.get("after", ())
            if after != ():
                after = self._after_names(after)
            check: HealthCheck | None = None
            if kind == "resource" and options.get("check") is not None:
                check, hook = self._resource_with_check(verb, func, options, after)
            else:
                hook = make_hook(kind, verb, func, options, after, self._seq)
            existing = self._hooks.get(hook.name)
            if existing is not None:
                if existing.same_registration(hook):
                    logger.debug("hook %s is already registered the same way; ignored", hook.name)
                    return None
                if existing.func is hook.func:
                    raise HookRegistrationError(
                        f"hook {hook.name!r} ({hook.source}) is already registered with other "
                        f"options ({existing!r}); register it once, or give the second "
                        f"registration its own name="
                    )
                raise HookRegistrationError(
                    f"two hooks are named {hook.name!r}: one defined at {existing.source}, "
                    f"the other at {hook.source}; pass name= to tell them apart"
                )
            if hook.after or hook.name in self._dependents:
                self._check_edges(hook)
            if hook.key_given:
                self._check_key(hook)
                self._keys.setdefault(hook.key or "", []).append(hook)
            if check is not None:
                self._check_name(check)
                self._checks[check.name] = check
            self._hooks[hook.name] = hook
            for dependency in hook.after:
                self._dependents.setdefault(dependency, []).append(hook.name)
            self._seq += 1
            self._version += 1
            return hook

    def _resource_with_check(
        self, verb: str, func: Any, options: dict[str, Any], after: Any
    ) -> tuple[HealthCheck, Hook]:
        """A resource registered with ``check=``: the hook, and the check that pings its value."""
        plain = {key: value for key, value in options.items() if key != "check"}
        hook = make_hook("resource", verb, func, plain, after, self._seq)
        check = make_check(verb, options["check"], {}, (), hook)
        plain["check"] = check.name
        return check, make_hook("resource", verb, func, plain, after, self._seq)

    def add_check(self, verb: str, func: Any, options: dict[str, Any]) -> HealthCheck | None:
        """Validate and register one health check; ``None`` if it was already there.

        Raises:
            TypeError: an unknown option.
            HookRegistrationError: anything wrong with it; nothing is registered.
        """
        if not options.keys() <= CHECK_OPTIONS:
            option = next(o for o in options if o not in CHECK_OPTIONS)
            raise TypeError(
                f"lifespan.{verb}() got an unexpected keyword argument {option!r}"
                f"{close_match(option, CHECK_OPTIONS)} (it takes "
                f"{', '.join(sorted(CHECK_OPTIONS))}); called at {registered_at()}"
            )
        with self.lock:
            after = options.get("after", ())
            if after != ():
                after = self._after_names(after)
            resource = None
            wanted = options.get("resource")
            if wanted is not None:
                resource = self._resource(verb, wanted)
            check = make_check(verb, func, options, after, resource)
            existing = self._checks.get(check.name)
            if existing is not None and existing.func is check.func:
                return None
            self._check_name(check)
            self._checks[check.name] = check
            self._version += 1
            return check

    def _resource(self, verb: str, wanted: Any) -> Hook:
        names = self._after_names((wanted,))
        name = names[0] if isinstance(names, tuple) else wanted
        hook = self._hooks.get(name) if isinstance(name, str) else None
        if hook is None or hook.kind != "resource":
            resources = [h.name for h in self._hooks.values() if h.kind == "resource"]
            hint = close_match(name, resources) if isinstance(name, str) else ""
            raise HookRegistrationError(
                f"lifespan.{verb}(resource={wanted!r}), at {registered_at()}: no resource "
                f"is registered under that name{hint}; register the resource before its check "
                f"(or use @lifespan.resource(check=...))"
            )
        return hook

    def _check_name(self, check: HealthCheck) -> None:
        existing = self._checks.get(check.name)
        if existing is not None:
            raise HookRegistrationError(
                f"two health checks are named {check.name!r}: one defined at {existing.source}, "
                f"the other at {check.source}; pass name= to tell them apart"
            )

    def all_checks(self) -> tuple[HealthCheck, ...]:
        """Every registered health check, in registration order."""
        with self.lock:
            return tuple(self._checks.values())

    def checks(self, service_type: str, environment: str) -> list[HealthCheck]:
        """The health checks that apply to a run, in registration order."""
        with self.lock:
            return [c for c in self._checks.values() if c.matches(service_type, environment)]

    def _after_names(self, after: Any) -> Any:
        """Let after= name a hook by its function too: the function's registered name."""
        if callable(after) and not isinstance(after, str):
            after = (after,)
        if isinstance(after, str) or not isinstance(after, Iterable):
            return after
        names: list[Any] = []
        for item in after:
            if callable(item) and not isinstance(item, str):
                found = next((h.name for h in self._hooks.values() if h.func is item), None)
                item = found or default_name(item)
            names.append(item)
        return tuple(names)

    def _check_edges(self, hook: Hook) -> None:
        for dependency in hook.after:
            other = self._hooks.get(dependency)
            if other is not None and other.priority > hook.priority:
                raise _higher_phase(hook, other)
        for dependent_name in self._dependents.get(hook.name, ()):
            dependent = self._hooks[dependent_name]
            if hook.priority > dependent.priority:
                raise _higher_phase(dependent, hook)
        # A new cycle must pass through the new hook: walk its dependencies.
        path = [hook.name]
        seen: set[str] = set()

        def walk(name: str) -> None:
            node = hook if name == hook.name else self._hooks.get(name)
            if node is None:
                return
            for dependency in node.after:
                if dependency == hook.name:
                    cycle = " -> ".join([*path, hook.name])
                    raise HookRegistrationError(
                        f"hook {hook.name!r} ({hook.source}): after= makes a cycle: {cycle} "
                        f"(each name must start after the next); remove one of the after= names"
                    )
                if dependency not in seen:
                    seen.add(dependency)
                    path.append(dependency)
                    walk(dependency)
                    path.pop()

        walk(hook.name)

    def _check_key(self, hook: Hook) -> None:
        """Two resources with one explicit key= that can run together clash for certain."""
        for other in self._keys.get(hook.key or "", ()):
            if _overlap(other.service_types, hook.service_types) and _overlap(
                other.environments, hook.environments
            ):
                where = (
                    "wherever both run"
                    if other.service_types is None and hook.service_types is None
                    else "for a service type both run in"
                )
                from ._plan import key_clash

                raise key_clash(other, hook, where)

    def clear(self) -> None:
        """Forget every hook."""
        with self.lock:
            self._hooks.clear()
            self._dependents.clear()
            self._keys.clear()
            self._plans.clear()
            self._checks.clear()
            self._version += 1

    def plan(self, service_type: str, environment: str) -> Plan:
        """The cached `Plan` of a service type and environment, built when out of date.

        Raises:
            HookRegistrationError: see `build_plan`.
        """
        key = (service_type, environment)
        cached = self._plans.get(key)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        from ._plan import build_plan  # imported by the first plan, not by registering

        with self.lock:
            plan = build_plan(self._hooks, service_type, environment)
            self._plans[key] = (self._version, plan)
            return plan


def _overlap(first: frozenset[str] | None, second: frozenset[str] | None) -> bool:
    return first is None or second is None or not first.isdisjoint(second)


def _higher_phase(hook: Hook, other: Hook) -> HookRegistrationError:
    return HookRegistrationError(
        f"hook {hook.name!r} ({hook.source}, priority {hook.priority}) has after="
        f"{other.name!r}, but {other.name!r} ({other.source}) has the higher priority "
        f"{other.priority} and so starts later; lower its priority or drop the after="
    )
