"""P2: startup latency of independent I/O-bound hooks, and of a chain of dependent ones."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import _asgi
from _harness import (
    Config,
    Measure,
    Peer,
    Row,
    Section,
    alternate,
    median,
    one,
    ratios,
    within,
)
from bench_django import has, setup_django

from asgi_lifecycle import Lifespan, LifespanMiddleware

ID = "P2"
TITLE = "P2 - startup latency (hooks each awaiting I/O)"
NEEDS_PEER = True

Sleeper = Callable[[], Awaitable[None]]


def _sleeper(delay: float, ran: list[int], index: int) -> Sleeper:
    async def hook() -> None:
        await asyncio.sleep(delay)
        ran.append(index)

    return hook


async def _asgi_startup(app: Any) -> float:
    driver = _asgi.LifespanDriver(app)
    seconds = await driver.startup()
    await driver.shutdown()
    return seconds


def _ours(count: int, delay: float, ran: list[int], concurrent: bool) -> Any:
    lifespan = Lifespan(concurrent=concurrent)
    for index in range(count):
        lifespan.add_start_hook(_sleeper(delay, ran, index), name=f"hook{index}")
    return LifespanMiddleware(_asgi.minimal_app, lifespan=lifespan)


def _ours_chain(count: int, chain: int, delay: float, ran: list[int]) -> Any:
    lifespan = Lifespan(concurrent=True)
    for index in range(count):
        after = (f"hook{index - 1}",) if 0 < index < chain else ()
        lifespan.add_start_hook(_sleeper(delay, ran, index), name=f"hook{index}", after=after)
    return LifespanMiddleware(_asgi.minimal_app, lifespan=lifespan)


def _fastapi(count: int, delay: float, ran: list[int]) -> Any | None:
    try:
        from fastapi import APIRouter, FastAPI
    except ImportError:
        return None

    def make(index: int) -> Callable[[Any], Any]:
        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[None]:
            await asyncio.sleep(delay)
            ran.append(index)
            yield

        return lifespan

    # FastAPI nests the lifespans of included routers: the documented way to compose them.
    app = FastAPI()
    for index in range(count):
        app.include_router(APIRouter(lifespan=make(index)))
    return app


def _django_asgi_lifespan(count: int, delay: float, ran: list[int]) -> tuple[Any, Any] | None:
    if not (has("django_asgi_lifespan") and setup_django()):
        return None
    from django_asgi_lifespan.asgi import get_asgi_application
    from django_asgi_lifespan.signals import asgi_startup

    def make(index: int) -> Callable[..., Awaitable[None]]:
        async def receiver(**kwargs: Any) -> None:
            await asyncio.sleep(delay)
            ran.append(index)

        return receiver

    for index in range(count):
        asgi_startup.connect(make(index), weak=False, dispatch_uid=f"benchmark-{index}")

    def disconnect() -> None:
        for index in range(count):
            asgi_startup.disconnect(dispatch_uid=f"benchmark-{index}")

    return get_asgi_application(), disconnect


def run(cfg: Config, peer: Peer) -> Section:
    return asyncio.run(_run(cfg, peer))


async def _run(cfg: Config, peer: Peer) -> Section:
    section = Section(ID, TITLE)
    count = 20
    chain = 5
    delay = cfg.pick(0.002, 0.05, 0.05)
    rounds = cfg.pick(1, 3, 7)
    ms = f"{delay * 1000:g} ms"

    ran: dict[str, list[int]] = {}

    def counter(name: str) -> list[int]:
        return ran.setdefault(name, [])

    apps: dict[str, Any] = {
        "ours.sequential": _ours(count, delay, counter("ours.sequential"), concurrent=False),
        "ours.concurrent": _ours(count, delay, counter("ours.concurrent"), concurrent=True),
        "ours.chain": _ours_chain(count, chain, delay, counter("ours.chain")),
    }
    skipped: dict[str, str] = {}
    fastapi = _fastapi(count, delay, counter("fastapi"))
    if fastapi is None:
        skipped["fastapi"] = "fastapi is not installed"
    else:
        apps["fastapi"] = fastapi
    dal = _django_asgi_lifespan(count, delay, counter("dal"))
    cleanup: list[Callable[[], None]] = []
    if dal is None:
        skipped["dal"] = "django or django-asgi-lifespan is not installed"
    else:
        apps["dal"] = dal[0]
        cleanup.append(dal[1])
    try:
        # One startup each first: it warms up, and proves that every hook really runs.
        for name, app in apps.items():
            await _asgi_startup(app)
            if sorted(ran[name]) != list(range(count)):
                raise RuntimeError(f"{name}: {len(ran[name])} of {count} hooks ran")
        peer_missing = peer.prepare("p2.setup", hooks=count, delay=delay)
        variants: list[tuple[str, Measure]] = [
            one("gather", lambda: _asgi.timed(_asgi.sleep_all_concurrently(count, delay))),
            one("sum", lambda: _asgi.timed(_asgi.sleep_all_sequentially(count, delay))),
            one(
                "chain.floor",
                lambda: _asgi.timed(
                    asyncio.gather(
                        _asgi.sleep_all_sequentially(chain, delay),
                        _asgi.sleep_all_concurrently(count - chain, delay),
                    )
                ),
            ),
        ]
        for name, app in apps.items():
            variants.append(one(name, functools.partial(_asgi_startup, app)))
        if not peer_missing:
            variants.append(("v002", functools.partial(_peer_round, peer)))
        samples = await alternate(rounds, variants, warmup=0)
    finally:
        for undo in cleanup:
            undo()

    gather, total, chain_floor = samples["gather"], samples["sum"], samples["chain.floor"]
    chart: dict[str, float] = {}
    section.chart["ms"] = chart

    def add(
        id: str,
        key: str,
        label: str,
        case: str,
        ref: str,
        base: list[float],
        target: str = "",
        note: str = "",
    ) -> None:
        values = samples[key]
        ratio = ratios(values, base)
        value = median(values) * 1000
        section.add(
            Row(
                id,
                case,
                value,
                "ms",
                f"{value:,.1f} ms",
                ref=ref,
                ratio=median(ratio),
                target=target,
                verdict=within(ratio, 1.05) if target else "info",
                note=note,
            )
        )
        chart[label] = value

    add(
        "P2.gather",
        "gather",
        "gather floor",
        f"asyncio.gather of {count} x {ms} (critical-path floor)",
        "gather floor",
        gather,
    )
    add(
        "P2.sum",
        "sum",
        "sequential floor",
        f"{count} x {ms} one after another (the sum)",
        "gather floor",
        gather,
    )
    add(
        "P2.ours_concurrent",
        "ours.concurrent",
        "ours, concurrent",
        "asgi-lifecycle, concurrent=True",
        "gather floor",
        gather,
        "<= 1.05x gather floor",
    )
    add(
        "P2.ours_sequential",
        "ours.sequential",
        "ours, sequential",
        "asgi-lifecycle, sequential (default)",
        "the sum",
        total,
        "= the sum (<= 1.05x)",
    )
    if "fastapi" in samples:
        add(
            "P2.fastapi",
            "fastapi",
            "FastAPI nested",
            f"FastAPI, {count} nested router lifespans",
            "gather floor",
            gather,
            note="lifespans nest: each waits for the one before",
        )
    else:
        section.skip("P2.fastapi", f"FastAPI, {count} nested router lifespans", skipped["fastapi"])
    if "dal" in samples:
        add(
            "P2.dal",
            "dal",
            "django-asgi-lifespan",
            f"django-asgi-lifespan, {count} asgi_startup receivers",
            "gather floor",
            gather,
            note="receivers run concurrently, in no order, without rollback or cancelling "
            "the others on failure",
        )
    else:
        section.skip("P2.dal", f"django-asgi-lifespan, {count} receivers", skipped["dal"])
    if "v002" in samples:
        add(
            "P2.v002",
            "v002",
            "asgi-lifecycle 0.0.2",
            f"asgi-lifecycle 0.0.2, {count} hooks (own env)",
            "gather floor",
            gather,
        )
    else:
        section.skip("P2.v002", f"asgi-lifecycle 0.0.2, {count} hooks (own env)", peer_missing)
    add(
        "P2.chain_floor",
        "chain.floor",
        "chain floor",
        f"floor with a chain: {chain} sequential sleeps gathered with {count - chain} others",
        "chain floor",
        chain_floor,
    )
    add(
        "P2.ours_chain",
        "ours.chain",
        "ours, chain",
        f"asgi-lifecycle, concurrent=True, a chain of {chain} (after=) + {count - chain} "
        f"independent",
        "chain floor",
        chain_floor,
        "<= 1.05x the sum along the chain",
    )
    return section


async def _peer_round(peer: Peer) -> Mapping[str, float]:
    return {"v002": float(peer.call("p2.round")["v002"])}
