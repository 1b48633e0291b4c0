"""P6: what a readiness probe costs, answered by the middleware's health endpoint.

``LifespanMiddleware(app, health_path="/health")`` around the minimal app, driven
in-process as P1 drives it, with one health check that does a little work (it awaits
``asyncio.sleep(0)``, one pass of the event loop): ``GET /health/ready`` with the check's
result served from the cache, and with the check run on every probe (``health_ttl=0``),
against a plain request through the same middleware.
"""

from __future__ import annotations

import asyncio
import functools
from time import perf_counter_ns

import _asgi
from _harness import (
    Config,
    Measure,
    Peer,
    Row,
    Section,
    alternate,
    median,
    median_ci,
    one,
    paired,
    ratios,
)

from asgi_lifecycle import Lifespan, LifespanMiddleware

ID = "P6"
TITLE = "P6 - health probe cost (GET /health/ready, cached and uncached check)"
NEEDS_PEER = False

HEALTH = "/health"
CACHED_TTL = 3600.0  # no cached result expires during a run


async def ping() -> bool:
    """The check: one pass of the event loop, the like of a round trip to a local service."""
    await asyncio.sleep(0)
    return True


def _lifespan(ttl: float) -> Lifespan:
    lifespan = Lifespan()
    lifespan.add_health_check(ping, name="ping")
    lifespan.configure(health_ttl=ttl)
    return lifespan


async def _time_check(count: int) -> float:
    """Await the check ``count`` times directly; return nanoseconds per call."""
    start = perf_counter_ns()
    for _ in range(count):
        await ping()
    return (perf_counter_ns() - start) / count


def run(cfg: Config, peer: Peer) -> Section:
    return asyncio.run(_run(cfg))


def _ns(value: float) -> str:
    return f"{value:,.0f} ns ({1e9 / value:,.0f} req/s)" if value > 0 else f"{value:,.0f} ns"


async def _run(cfg: Config) -> Section:
    section = Section(ID, TITLE)
    rounds = cfg.pick(3, 20, 100)
    batch = cfg.pick(20, 300, 500)
    starlette_batch = cfg.pick(5, 150, 300)

    cached = LifespanMiddleware(
        _asgi.minimal_app, lifespan=_lifespan(CACHED_TTL), health_path=HEALTH
    )
    uncached = LifespanMiddleware(_asgi.minimal_app, lifespan=_lifespan(0), health_path=HEALTH)
    star_app = _asgi.starlette_app()
    star = None
    if star_app is not None:
        star = LifespanMiddleware(star_app, lifespan=_lifespan(CACHED_TTL), health_path=HEALTH)
    apps = [app for app in (cached, uncached, star) if app is not None]
    drivers = [_asgi.LifespanDriver(app) for app in apps]
    for driver in drivers:
        await driver.startup()
    try:
        for app in apps:  # every probe answers 200 (and the cached one has its result cached)
            await _asgi.check_response(app)
            await _asgi.check_response(app, f"{HEALTH}/ready")
        variants: list[tuple[str, Measure]] = [
            one("plain", functools.partial(_asgi.time_requests, cached, batch)),
            one("live", functools.partial(_asgi.time_requests, cached, batch, f"{HEALTH}/live")),
            one("cached", functools.partial(_asgi.time_requests, cached, batch, f"{HEALTH}/ready")),
            one(
                "uncached",
                functools.partial(_asgi.time_requests, uncached, batch, f"{HEALTH}/ready"),
            ),
            one("check", functools.partial(_time_check, batch)),
        ]
        if star is not None:
            variants.append(
                one("starlette", functools.partial(_asgi.time_requests, star, starlette_batch))
            )
        samples = await alternate(rounds, variants)
    finally:
        for driver in drivers:
            await driver.shutdown()
    _report(section, samples)
    return section


def _report(section: Section, s: dict[str, list[float]]) -> None:
    plain = median(s["plain"])
    section.add(
        Row(
            "P6.plain",
            "a plain request (`/`) through the same middleware, minimal app (reference)",
            plain,
            "ns",
            _ns(plain),
        )
    )
    if "starlette" in s:
        value = median(s["starlette"])
        section.add(
            Row(
                "P6.starlette",
                "a request to a Starlette app through the same middleware (reference)",
                value,
                "ns",
                _ns(value),
                ref="plain request",
                ratio=value / plain,
            )
        )
    else:
        section.skip(
            "P6.starlette",
            "a request to a Starlette app through the same middleware (reference)",
            "starlette is not installed",
        )
    star = median(s["starlette"]) if "starlette" in s else None
    live = median(s["live"])
    section.add(
        Row(
            "P6.live",
            "GET /health/live (no check runs)",
            live,
            "ns",
            _ns(live),
            ref="plain request",
            ratio=median(ratios(s["live"], s["plain"])),
        )
    )
    value = median(s["cached"])
    note = f"{value / star:.2f}x a Starlette request" if star else ""
    section.add(
        Row(
            "P6.cached",
            f"GET /health/ready, one check, cached (health_ttl={CACHED_TTL:g})",
            value,
            "ns",
            _ns(value),
            ref="plain request",
            ratio=median(ratios(s["cached"], s["plain"])),
            target="about one request",
            note=note,
        )
    )
    extra = paired(s["uncached"], s["cached"])
    low, high = median_ci(extra)
    check = median(s["check"])
    value = median(s["uncached"])
    section.add(
        Row(
            "P6.uncached",
            "GET /health/ready, one check, run by every probe (health_ttl=0)",
            value,
            "ns",
            _ns(value),
            ref="cached",
            ratio=median(ratios(s["uncached"], s["cached"])),
            target="bounded by the check",
            note=f"uncached minus cached, paired: {median(extra):+,.0f} ns per probe "
            f"(95% CI {low:+,.0f}..{high:+,.0f}); the check itself, awaited directly: "
            f"{check:,.0f} ns; the rest is running it (its timeout, its result, sharing it "
            f"with concurrent probes)",
        )
    )
    section.add(
        Row(
            "P6.check",
            "the check alone (`await asyncio.sleep(0)`), awaited directly (reference)",
            check,
            "ns",
            f"{check:,.0f} ns",
        )
    )
    section.notes.append(
        "Every request is served in-process, one after another, as in P1: no server, no "
        "socket, so these are the costs of the endpoint itself. The health endpoint's "
        "response is the IETF health+json body without details."
    )
    section.chart["ns"] = {
        "plain request (minimal app)": plain,
        **({"Starlette request": star} if star else {}),
        "asgi-lifecycle /health/live": live,
        "asgi-lifecycle /health/ready, cached": median(s["cached"]),
        "asgi-lifecycle /health/ready, uncached": value,
    }
