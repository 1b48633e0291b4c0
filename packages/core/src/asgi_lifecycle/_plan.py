"""The order a run follows: which hooks, in which phases, in which order inside a phase.

All hooks of a run stand in one forward order: phases (priorities) ascending;
inside a phase, registration order, except that a hook comes after the hooks
its ``after=`` names. Startup follows it, shutdown its exact reverse.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from ._errors import HookRegistrationError
from ._hook import Hook
from ._validation import close_match

__all__ = ("Plan", "build_plan")


class Plan:
    """The hooks one run (a service type and environment) runs, in order.

    Attributes:
        service_type: The run's service type.
        environment: The run's environment.
        hooks: Every hook of the run, in forward (startup) order.
        groups: The same hooks, one tuple per phase (priority), phases ascending.
        starting: The hooks startup runs (start hooks and resource setups), in order.
    """

    __slots__ = ("environment", "groups", "hooks", "service_type", "starting")

    def __init__(self, service_type: str, environment: str, hooks: tuple[Hook, ...]) -> None:
        self.service_type = service_type
        self.environment = environment
        self.hooks = hooks
        groups: list[tuple[Hook, ...]] = []
        start = 0
        for index in range(1, len(hooks) + 1):
            if index == len(hooks) or hooks[index].priority != hooks[start].priority:
                groups.append(hooks[start:index])
                start = index
        self.groups: tuple[tuple[Hook, ...], ...] = tuple(groups)
        self.starting = tuple(hook for hook in hooks if hook.kind != "shutdown")


def build_plan(hooks: Mapping[str, Hook], service_type: str, environment: str) -> Plan:
    """Order the hooks of ``hooks`` that match a service type and environment.

    Raises:
        HookRegistrationError: an ``after=`` name that no hook has, or two
            resources of the run publishing the same state key given with ``key=``.
    """
    selected = [h for h in hooks.values() if h.matches(service_type, environment)]
    keys: dict[str, Hook] = {}
    for hook in selected:
        for dependency in hook.after:
            if dependency not in hooks:
                hint = close_match(dependency, hooks)
                raise HookRegistrationError(
                    f"hook {hook.name!r} ({hook.source}): after= names {dependency!r}, but no "
                    f"hook has that name{hint} (is its module imported before startup?)"
                )
        # Keys given with key= clash at once; default keys (the function's name) only if
        # both resources really publish a value, which the runner checks at startup.
        if hook.key is not None and hook.key_given:
            other = keys.get(hook.key)
            if other is not None:
                raise key_clash(other, hook, f"for service type {service_type!r}")
            keys[hook.key] = hook
    selected.sort(key=lambda h: (h.priority, h.seq))
    ordered: list[Hook] = []
    start = 0
    for index in range(1, len(selected) + 1):
        if index == len(selected) or selected[index].priority != selected[start].priority:
            ordered.extend(_topological(selected[start:index]))
            start = index
    return Plan(service_type, environment, tuple(ordered))


def key_clash(first: Hook, second: Hook, when: str) -> HookRegistrationError:
    """The error for two resources that publish one ``context.state`` key."""
    return HookRegistrationError(
        f"resources {first.name!r} ({first.source}) and {second.name!r} ({second.source}) "
        f"both publish context.state[{second.key!r}] {when}; give one of them another key="
    )


def _topological(group: list[Hook]) -> list[Hook]:
    """Registration order, except that a hook comes after the hooks it names in after=."""
    if not any(hook.after for hook in group):
        return group  # already in registration order
    by_name = {hook.name: hook for hook in group}
    waiting = {hook.name: 0 for hook in group}
    dependents: dict[str, list[Hook]] = {}
    for hook in group:
        for dependency in hook.after:
            if dependency in by_name:
                waiting[hook.name] += 1
                dependents.setdefault(dependency, []).append(hook)
    ready = [(hook.seq, hook.name) for hook in group if waiting[hook.name] == 0]
    heapq.heapify(ready)
    ordered: list[Hook] = []
    while ready:
        _, name = heapq.heappop(ready)
        ordered.append(by_name[name])
        for dependent in dependents.get(name, ()):
            waiting[dependent.name] -= 1
            if waiting[dependent.name] == 0:
                heapq.heappush(ready, (dependent.seq, dependent.name))
    if len(ordered) != len(group):  # pragma: no cover - cycles are refused at registration
        stuck = sorted(set(by_name) - {h.name for h in ordered})
        raise HookRegistrationError(f"after= makes a cycle among {stuck}")
    return ordered
