"""P1: what an ``http`` request pays for passing through ``LifespanMiddleware``."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Mapping
from typing import Any

import _asgi
from _harness import (
    Config,
    Measure,
    Peer,
    Row,
    Section,
    alternate,
    at_most,
    median,
    median_ci,
    one,
    paired,
)

from asgi_lifecycle import Lifespan, LifespanMiddleware

ID = "P1"
TITLE = "P1 - per-request cost (http request through the middleware)"
NEEDS_PEER = True


def run(cfg: Config, peer: Peer) -> Section:
    return asyncio.run(_run(cfg, peer))


def _lifespan() -> Lifespan:
    lifespan = Lifespan()

    @lifespan.resource(key="lifecycle_db")
    async def database() -> AsyncIterator[object]:
        yield object()

    return lifespan


def _ns(value: float) -> str:
    return f"{value:,.0f} ns"


def _added(value: float, low: float, high: float) -> str:
    return f"{value:+,.0f} ns (CI {low:+,.0f}..{high:+,.0f})"


async def _run(cfg: Config, peer: Peer) -> Section:
    section = Section(ID, TITLE)
    rounds = cfg.pick(3, 60, 300)
    batch = cfg.pick(20, 1_000, 2_000)
    starlette_batch = cfg.pick(5, 150, 300)

    ours = LifespanMiddleware(_asgi.minimal_app, lifespan=_lifespan())
    apps: dict[str, Any] = {
        "bare": _asgi.minimal_app,
        "wrapper": _asgi.PassThrough(_asgi.minimal_app),
        "returning": _asgi.ReturningPassThrough(_asgi.minimal_app),
        "ours": ours,
    }
    # Each Starlette variant gets an app of its own, since each runs its own lifespan.
    star_apps: dict[str, Any] = {}
    star_bare = _asgi.starlette_app()
    if star_bare is not None:
        star_apps = {
            "starlette": star_bare,
            "starlette+wrapper": _asgi.PassThrough(_asgi.starlette_app()),
            "starlette+ours": LifespanMiddleware(_asgi.starlette_app(), lifespan=_lifespan()),
        }
    drivers = [_asgi.LifespanDriver(app) for app in (ours, *star_apps.values())]
    for driver in drivers:
        await driver.startup()  # so that no variant takes the "never started" path
    try:
        for app in (*apps.values(), *star_apps.values()):
            await _asgi.check_response(app)
        variants: list[tuple[str, Measure]] = []
        for name, app in apps.items():
            variants.append(one(name, functools.partial(_asgi.time_requests, app, batch)))
        for name, app in star_apps.items():
            variants.append(one(name, functools.partial(_asgi.time_requests, app, starlette_batch)))
        peer_missing = peer.prepare("p1.setup", batch=batch)
        if not peer_missing:
            variants.append(("peer", functools.partial(_peer_round, peer)))
        samples = await alternate(rounds, variants)
    finally:
        for driver in drivers:
            await driver.shutdown()

    _report(section, samples, peer_missing, star_bare is not None)
    return section


async def _peer_round(peer: Peer) -> Mapping[str, float]:
    answer = peer.call("p1.round")
    return {f"peer.{key}": float(value) for key, value in answer.items()}


def _report(
    section: Section, s: dict[str, list[float]], peer_missing: str, starlette: bool
) -> None:
    bare = s["bare"]
    added = {name: paired(s[name], bare) for name in ("wrapper", "returning", "ours")}
    section.add(
        Row("P1.bare", "minimal ASGI app, bare: per request", median(bare), "ns", _ns(median(bare)))
    )
    wrapper = median(added["wrapper"])
    for name, case in (
        (
            "wrapper",
            "added by an empty pass-through (`async def __call__` awaiting the app)",
        ),
        ("returning", "added by a pass-through returning the app's coroutine (reference only)"),
    ):
        value = median(added[name])
        section.add(
            Row(
                f"P1.{name}",
                case,
                value,
                "ns",
                _added(value, *median_ci(added[name])),
                ref="empty pass-through",
                ratio=value / wrapper if wrapper else None,
            )
        )
    ours = median(added["ours"])
    versus = paired(s["ours"], s["wrapper"])
    low, high = median_ci(versus)
    section.add(
        Row(
            "P1.ours",
            "added by LifespanMiddleware (asgi-lifecycle)",
            ours,
            "ns",
            _added(ours, *median_ci(added["ours"])),
            ref="empty pass-through",
            ratio=ours / wrapper if wrapper else None,
            target="<= empty pass-through",
            verdict=at_most(versus),
            note=f"ours minus the empty pass-through, paired per round: {median(versus):+,.0f} ns "
            f"(95% CI {low:+,.0f}..{high:+,.0f} ns)",
        )
    )
    section.chart["added_ns"] = {
        "empty pass-through": wrapper,
        "returning pass-through": median(added["returning"]),
        "asgi-lifecycle": ours,
    }

    if "peer.v002" in s:
        peer_bare = s["peer.bare"]
        v002 = paired(s["peer.v002"], peer_bare)
        peer_wrapper = median(paired(s["peer.wrapper"], peer_bare))
        value = median(v002)
        section.add(
            Row(
                "P1.v002",
                "added by the asgi-lifecycle 0.0.2 middleware (own env)",
                value,
                "ns",
                _added(value, *median_ci(v002)),
                ref="empty pass-through, same process",
                ratio=value / peer_wrapper if peer_wrapper else None,
                note=f"measured in its own process against its own bare app "
                f"({_ns(median(peer_bare))}) and pass-through (+{peer_wrapper:,.0f} ns)",
            )
        )
        section.chart["added_ns"]["asgi-lifecycle 0.0.2"] = value
    else:
        section.skip(
            "P1.v002", "added by the asgi-lifecycle 0.0.2 middleware (own env)", peer_missing
        )

    if not starlette:
        for id, case in (
            ("P1.starlette", "Starlette app with a lifespan: per request"),
            ("P1.starlette_ours", "added by LifespanMiddleware around Starlette"),
        ):
            section.skip(id, case, "starlette is not installed")
        return
    star = s["starlette"]
    section.add(
        Row(
            "P1.starlette",
            "Starlette app with a lifespan: per request",
            median(star),
            "ns",
            _ns(median(star)),
        )
    )
    star_wrapper = paired(s["starlette+wrapper"], star)
    star_ours = paired(s["starlette+ours"], star)
    for id, case, diff in (
        ("P1.starlette_wrapper", "added by an empty pass-through around Starlette", star_wrapper),
        ("P1.starlette_ours", "added by LifespanMiddleware around Starlette", star_ours),
    ):
        value = median(diff)
        section.add(
            Row(
                id,
                case,
                value,
                "ns",
                _added(value, *median_ci(diff)),
                ref="Starlette app",
                ratio=1 + value / median(star),
                note=f"{value / median(star):+.1%} per request",
            )
        )
