"""P3: what the runner costs per hook, and what registering hooks costs."""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from time import perf_counter
from typing import Any

from _harness import (
    Config,
    Measure,
    Peer,
    PeerError,
    Row,
    Section,
    alternate,
    median,
    one,
    ratios,
    within,
)

from asgi_lifecycle import Lifespan, LifespanContext

ID = "P3"
TITLE = "P3 - runner overhead per no-op hook (startup + shutdown) and registration"
NEEDS_PEER = True


def _resource(index: int) -> Callable[[], AsyncIterator[None]]:
    async def resource() -> AsyncIterator[None]:
        yield

    return resource


def _context_manager(index: int) -> Callable[[], Any]:
    @asynccontextmanager
    async def manager() -> AsyncIterator[None]:
        yield

    return manager


def _start_hook(index: int) -> Callable[[], Any]:
    async def hook() -> None:
        return None

    return hook


def _lifespan(n: int, **options: Any) -> Lifespan:
    lifespan = Lifespan(**options)
    for index in range(n):
        lifespan.add_resource(_resource(index), name=f"hook{index}", key=f"hook{index}")
    return lifespan


async def _cycles(lifespan: Lifespan, n: int, cycles: int) -> float:
    """Start and stop ``cycles`` times; return seconds per hook."""
    context = LifespanContext("app")
    start = perf_counter()
    for _ in range(cycles):
        await lifespan.startup(context)
        await lifespan.shutdown(context)
    return (perf_counter() - start) / (cycles * n)


async def _stack(managers: list[Callable[[], Any]], cycles: int) -> float:
    """Enter and exit ``cycles`` times; return seconds per context manager."""
    start = perf_counter()
    for _ in range(cycles):
        async with AsyncExitStack() as stack:
            for manager in managers:
                await stack.enter_async_context(manager())
    return (perf_counter() - start) / (cycles * len(managers))


async def _register(n: int) -> float:
    hooks = [_start_hook(index) for index in range(n)]
    lifespan = Lifespan()
    start = perf_counter()
    for index, hook in enumerate(hooks):
        lifespan.on_start(name=f"hook{index}")(hook)
    return perf_counter() - start


def run(cfg: Config, peer: Peer) -> Section:
    return asyncio.run(_run(cfg, peer))


def _exponent(small: float, large: float, n_small: int, n_large: int) -> float:
    """k in "total time grows as n**k", from the per-hook times at two sizes."""
    return 1 + math.log(large / small) / math.log(n_large / n_small)


def _us(value: float) -> str:
    return f"{value * 1e6:,.2f} us"


async def _run(cfg: Config, peer: Peer) -> Section:
    section = Section(ID, TITLE)
    sizes: tuple[int, ...] = cfg.pick((1, 10, 100), (1, 100, 10_000), (1, 100, 10_000))
    per_round = cfg.pick(200, 5_000, 20_000)
    rounds = cfg.pick(2, 5, 15)
    chart: dict[str, dict[str, float]] = {}
    section.chart["us_per_hook"] = chart
    per_hook: dict[str, dict[int, float]] = {"ours": {}, "stack": {}}

    for n in sizes:
        cycles = max(1, per_round // n)
        ours = _lifespan(n)
        unbounded = _lifespan(n, shutdown_timeout=None)
        managers = [_context_manager(index) for index in range(n)]
        variants: list[tuple[str, Measure]] = [
            one("ours", functools.partial(_cycles, ours, n, cycles)),
            one("unbounded", functools.partial(_cycles, unbounded, n, cycles)),
            one("stack", functools.partial(_stack, managers, cycles)),
        ]
        peer_missing = peer.prepare("p3.setup", n=n, cycles=cycles, timeout=1200)
        if not peer_missing:
            variants.append(("v002", functools.partial(_peer_round, peer)))
        s = await alternate(rounds, variants)
        stack = s["stack"]
        size = f"{n:,} hook{'s' if n > 1 else ''}"
        chart[size] = {}

        def add(
            id: str,
            key: str,
            label: str,
            case: str,
            target: str = "",
            note: str = "",
            s: dict[str, list[float]] = s,
            stack: list[float] = stack,
            size: str = size,
        ) -> None:
            ratio = ratios(s[key], stack)
            value = median(s[key])
            section.add(
                Row(
                    id,
                    f"{case}, {size}",
                    value * 1e6,
                    "us",
                    _us(value),
                    ref="AsyncExitStack",
                    ratio=median(ratio),
                    target=target,
                    verdict=within(ratio, 2.0) if target else "info",
                    note=note,
                )
            )
            chart[size][label] = value * 1e6

        add(
            f"P3.stack.{n}",
            "stack",
            "AsyncExitStack",
            "AsyncExitStack + @asynccontextmanager (reference)",
        )
        add(
            f"P3.ours.{n}",
            "ours",
            "asgi-lifecycle",
            "asgi-lifecycle, async resources",
            "<= 2x AsyncExitStack",
        )
        add(
            f"P3.unbounded.{n}",
            "unbounded",
            "asgi-lifecycle, shutdown_timeout=None",
            "asgi-lifecycle, shutdown_timeout=None (diagnostic)",
        )
        if "v002" in s:
            add(
                f"P3.v002.{n}",
                "v002",
                "asgi-lifecycle 0.0.2",
                "asgi-lifecycle 0.0.2, on_start + on_shutdown pair (own env)",
            )
        else:
            section.skip(f"P3.v002.{n}", f"asgi-lifecycle 0.0.2, {size}", peer_missing)
        per_hook["ours"][n] = median(s["ours"])
        per_hook["stack"][n] = median(stack)

    section.notes.append(
        "The hooks are async resources (a generator yielding once: setup, then teardown), "
        "the like of an `@asynccontextmanager`; asgi-lifecycle 0.0.2 has none, so it runs an "
        "on_start and an on_shutdown hook per unit. 'shutdown_timeout=None' rows: the same "
        "runner without a shutdown budget, so that no `asyncio.timeout()` is entered per hook."
    )
    small, large = sizes[1], sizes[2]
    ours_k = _exponent(per_hook["ours"][small], per_hook["ours"][large], small, large)
    stack_k = _exponent(per_hook["stack"][small], per_hook["stack"][large], small, large)
    linear = ours_k <= 1.1 or ours_k <= stack_k + 0.05
    section.add(
        Row(
            "P3.linear",
            f"runner growth from {small:,} to {large:,} hooks (time ~ n^k)",
            ours_k,
            "k",
            f"k = {ours_k:.2f}",
            ref="AsyncExitStack",
            ratio=None,
            target="linear (k <= 1.1)",
            verdict="pass" if linear else "MISS",
            note=f"AsyncExitStack in the same run: k = {stack_k:.2f}; above 1, the extra is the "
            f"interpreter's (memory, garbage collection) when the stack shows it too",
        )
    )

    await _registration(cfg, peer, section)
    return section


async def _registration(cfg: Config, peer: Peer, section: Section) -> None:
    small, large = cfg.pick((100, 1_000), (1_000, 10_000), (1_000, 10_000))
    rounds = cfg.pick(1, 2, 3)
    variants: list[tuple[str, Measure]] = [
        one("small", functools.partial(_register, small)),
        one("large", functools.partial(_register, large)),
    ]
    if peer.available:
        variants.append(("v002", functools.partial(_peer_register, peer, large)))
    try:
        s = await alternate(rounds, variants, warmup=0)
    except PeerError as exc:
        print(f"warning: {exc}")
        s = await alternate(rounds, variants[:2], warmup=0)
    value = median(s["large"])
    section.add(
        Row(
            "P3.register",
            f"registering {large:,} hooks (lifespan.on_start)",
            value,
            "s",
            f"{value:.3f} s",
            target="< 0.1 s",
            verdict=within(s["large"], 0.1),
            note=f"{value / large * 1e6:.1f} us per hook",
        )
    )
    k = _exponent(median(s["small"]) / small, value / large, small, large)
    section.add(
        Row(
            "P3.register_linear",
            f"registration growth from {small:,} to {large:,} hooks",
            k,
            "k",
            f"k = {k:.2f}",
            target="linear (k <= 1.1)",
            verdict="pass" if k <= 1.1 else "MISS",
        )
    )
    if "v002" in s:
        v002 = median(s["v002"])
        section.add(
            Row(
                "P3.v002_register",
                f"asgi-lifecycle 0.0.2: registering {large:,} hooks (own env)",
                v002,
                "s",
                f"{v002:.3f} s",
                ref="asgi-lifecycle",
                ratio=v002 / value,
                note="0.0.2 sorts its whole hook list again on every registration",
            )
        )
    else:
        section.skip(
            "P3.v002_register",
            f"asgi-lifecycle 0.0.2: registering {large:,} hooks",
            peer.reason or "the peer worker failed",
        )
    section.chart["register_s"] = {
        "asgi-lifecycle": value,
        **({"asgi-lifecycle 0.0.2": median(s["v002"])} if "v002" in s else {}),
    }


async def _peer_round(peer: Peer) -> Mapping[str, float]:
    return {"v002": float(peer.call("p3.round")["v002"])}


async def _peer_register(peer: Peer, n: int) -> Mapping[str, float]:
    return {"v002": float(peer.call("p3.register", n=n, timeout=1200)["seconds"])}
