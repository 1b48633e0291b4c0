"""P5: a bounded shutdown, with hooks that never return."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Mapping
from time import perf_counter

from _harness import Config, Measure, Peer, PeerError, Row, Section, alternate, median

from asgi_lifecycle import Lifespan, LifespanContext

ID = "P5"
TITLE = "P5 - bounded shutdown (hung hooks, shutdown_timeout budget)"
NEEDS_PEER = True


async def _shutdown(others: int, hung: int, budget: float, sync: bool) -> Mapping[str, float]:
    """Shut down ``others`` quick hooks behind ``hung`` hung ones; return seconds and count."""
    lifespan = Lifespan(shutdown_timeout=budget)
    ran: list[int] = []
    release = threading.Event()

    def make(index: int) -> object:
        async def hook() -> None:
            ran.append(index)

        return hook

    async def hang_async() -> None:
        await asyncio.Event().wait()

    def hang_sync() -> None:
        release.wait(600)

    for index in range(others):
        lifespan.add_shutdown_hook(make(index), name=f"other{index}")  # type: ignore[arg-type]
    # Shutdown runs in the reverse of registration: the hung hooks, registered last,
    # go first, so every other hook has to wait for them.
    for index in range(hung):
        lifespan.add_shutdown_hook(hang_sync if sync else hang_async, name=f"hung{index}")
    context = LifespanContext("app")
    await lifespan.startup(context)
    start = perf_counter()
    await lifespan.shutdown(context)
    seconds = perf_counter() - start
    release.set()  # let the abandoned threads finish
    return {"seconds": seconds, "ran": float(len(ran))}


def run(cfg: Config, peer: Peer) -> Section:
    # The runner logs every timed-out hook at ERROR; that is expected here.
    logger = logging.getLogger("asgi_lifecycle")
    disabled, logger.disabled = logger.disabled, True
    try:
        return asyncio.run(_run(cfg, peer))
    finally:
        logger.disabled = disabled


async def _run(cfg: Config, peer: Peer) -> Section:
    section = Section(ID, TITLE)
    budget = cfg.pick(0.2, 1.0, 1.0)
    others = cfg.pick(9, 99, 99)
    rounds = cfg.pick(1, 2, 3)
    cases = {
        "ours.async1": (1, False),
        "ours.sync1": (1, True),
        "ours.async3": (3, False),
    }
    variants: list[tuple[str, Measure]] = []
    for key, (hung, sync) in cases.items():

        async def measure(
            key: str = key, hung: int = hung, sync: bool = sync
        ) -> Mapping[str, float]:
            result = await _shutdown(others, hung, budget, sync)
            return {f"{key}.{name}": value for name, value in result.items()}

        variants.append((key, measure))
    if peer.available:
        for hung in (1, 3):

            async def measure_peer(hung: int = hung) -> Mapping[str, float]:
                answer = peer.call("p5.round", others=others, hung=hung, budget=budget)
                return {
                    f"v002.{hung}.seconds": answer["seconds"],
                    f"v002.{hung}.ran": answer["ran"],
                }

            variants.append((f"v002.{hung}", measure_peer))
    try:
        s = await alternate(rounds, variants, warmup=0)
    except PeerError as exc:
        print(f"warning: {exc}")
        s = await alternate(rounds, variants[: len(cases)], warmup=0)

    limit = budget + 0.1
    chart: dict[str, float] = {}
    section.chart["s"] = chart
    section.chart["budget"] = budget

    def add(id: str, key: str, label: str, case: str, target: bool, note: str = "") -> None:
        seconds = median(s[f"{key}.seconds"])
        ran = min(s[f"{key}.ran"])
        ok = seconds <= limit and ran == others
        section.add(
            Row(
                id,
                case,
                seconds,
                "s",
                f"{seconds:.3f} s, {ran:.0f}/{others} others ran",
                ref="budget",
                ratio=seconds / budget,
                target=f"<= {limit:g} s, all {others} others ran" if target else "",
                verdict=("pass" if ok else "MISS") if target else "info",
                note=note,
            )
        )
        chart[label] = seconds

    add(
        "P5.ours",
        "ours.async1",
        "ours, 1 hung (async)",
        f"asgi-lifecycle, 1 hung async hook + {others}, budget {budget:g} s",
        True,
    )
    add(
        "P5.ours_sync",
        "ours.sync1",
        "ours, 1 hung (sync)",
        f"asgi-lifecycle, 1 hung sync hook + {others}, budget {budget:g} s",
        True,
        "a thread cannot be interrupted: the runner stops waiting for it",
    )
    add(
        "P5.ours_3",
        "ours.async3",
        "ours, 3 hung",
        f"asgi-lifecycle, 3 hung async hooks + {others}, budget {budget:g} s",
        False,
        "once the budget is spent, each hook still due gets a 0.1 s grace",
    )
    if "v002.1.seconds" in s:
        add(
            "P5.v002",
            "v002.1",
            "0.0.2, 1 hung",
            f"asgi-lifecycle 0.0.2, 1 hung + {others}, per-hook timeout {budget:g} s (own env)",
            False,
            "0.0.2 has only a per-hook shutdown timeout (30 s by default, private "
            "attribute): set to the budget here; its default makes this 30 s",
        )
        add(
            "P5.v002_3",
            "v002.3",
            "0.0.2, 3 hung",
            f"asgi-lifecycle 0.0.2, 3 hung + {others}, per-hook timeout {budget:g} s (own env)",
            False,
            "one timeout after another",
        )
    else:
        section.skip("P5.v002", f"asgi-lifecycle 0.0.2, 1 hung + {others}", peer.reason)
        section.skip("P5.v002_3", f"asgi-lifecycle 0.0.2, 3 hung + {others}", peer.reason)
    return section
