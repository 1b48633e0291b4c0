from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asgi_lifecycle import Lifespan, LifespanContext, StartupFailed


@dataclass
class Spec:
    kind: str  # "start", "shutdown" or "resource"
    priority: int
    after: list[int]
    fails: bool  # raises (at setup for resources)
    hangs: bool  # outlives its timeout
    critical: bool


@st.composite
def hook_sets(draw: st.DrawFn) -> list[Spec]:
    count = draw(st.integers(1, 12))
    specs: list[Spec] = []
    for index in range(count):
        priority = draw(st.integers(0, 3))
        # Only earlier hooks of the same or a lower phase: no cycles, no contradiction.
        candidates = [i for i in range(index) if specs[i].priority <= priority]
        after = (
            draw(st.lists(st.sampled_from(candidates), unique=True, max_size=3))
            if candidates
            else []
        )
        specs.append(
            Spec(
                kind=draw(st.sampled_from(["start", "shutdown", "resource"])),
                priority=priority,
                after=after,
                fails=draw(st.booleans()) and draw(st.booleans()),
                hangs=draw(st.integers(0, 9)) == 0,
                critical=draw(st.booleans()),
            )
        )
    return specs


def build(specs: list[Spec], log: list[tuple[str, int]], concurrent: bool) -> Lifespan:
    lp = Lifespan(concurrent=concurrent, shutdown_timeout=5)
    for index, spec in enumerate(specs):
        name = f"h{index}"
        after = [f"h{i}" for i in spec.after]
        timeout = 0.01 if spec.hangs else None

        async def act(label: str, index: int = index, spec: Spec = spec) -> None:
            log.append((label, index))
            if spec.hangs and label in ("start", "setup", "stop"):
                await asyncio.sleep(1)
            if spec.fails and label in ("start", "setup", "stop"):
                raise RuntimeError(f"h{index} fails")

        if spec.kind == "start":

            async def start(act: Any = act) -> None:
                await act("start")

            lp.add_start_hook(start, name=name, priority=spec.priority, after=after,
                              timeout=timeout, critical=spec.critical)  # fmt: skip
        elif spec.kind == "shutdown":

            async def stop(act: Any = act) -> None:
                await act("stop")

            lp.add_shutdown_hook(stop, name=name, priority=spec.priority, after=after,
                                 timeout=timeout)  # fmt: skip
        else:

            async def res(act: Any = act, index: int = index) -> AsyncIterator[None]:
                await act("setup")
                yield None
                log.append(("teardown", index))

            lp.add_resource(res, name=name, key=name, priority=spec.priority, after=after,
                            timeout=timeout, critical=spec.critical)  # fmt: skip
    return lp


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=hook_sets(), concurrent=st.booleans())
def test_any_run_keeps_the_promise(specs: list[Spec], concurrent: bool) -> None:
    """Whatever the hooks do, setups are torn down once, nothing runs twice, order holds."""
    log: list[tuple[str, int]] = []
    lp = build(specs, log, concurrent)

    async def scenario() -> tuple[Any, Any]:
        context = LifespanContext("app")
        try:
            startup = await lp.startup(context)
        except StartupFailed as failed:
            return failed.report, failed.rollback
        return startup, await lp.shutdown(LifespanContext("app"))

    startup, shutdown = asyncio.run(scenario())
    order = {hook.name: position for position, hook in enumerate(lp.plan("app"))}

    # Nothing ran twice.
    assert len(log) == len(set(log))
    # Every resource whose setup finished was torn down exactly once; no other was.
    set_up = {r.hook.name for r in startup.results if r.action == "setup" and r.ok}
    torn = {f"h{i}" for label, i in log if label == "teardown"}
    assert torn == set_up
    # Startup followed the plan's order; every start/setup hook is in the report.
    started = [order[f"h{i}"] for label, i in log if label in ("start", "setup")]
    if not concurrent:
        assert started == sorted(started)
    expected = {f"h{i}" for i, s in enumerate(specs) if s.kind != "shutdown"}
    assert {r.hook.name for r in startup.results} == expected
    # A hook never started before the hooks it depends on finished starting.
    first_seen = {f"h{i}": n for n, (label, i) in enumerate(log) if label in ("start", "setup")}
    for index, spec in enumerate(specs):
        if spec.kind != "shutdown" and f"h{index}" in first_seen:
            for dependency in spec.after:
                if specs[dependency].kind != "shutdown":
                    assert f"h{dependency}" in first_seen
                    assert first_seen[f"h{dependency}"] < first_seen[f"h{index}"]
    # Shutdown (or rollback) ran teardowns and stops in reverse plan order when sequential.
    stopped = [order[f"h{i}"] for label, i in log if label in ("stop", "teardown")]
    if not concurrent:
        assert stopped == sorted(stopped, reverse=True)
    # The stop report lists every stop it ran.
    assert {r.hook.name for r in shutdown.results} >= {
        f"h{i}" for label, i in log if label == "stop"
    }
    assert not lp.is_initialized()
