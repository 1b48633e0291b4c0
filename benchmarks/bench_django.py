"""P1d: a Django request through each lifespan-aware handler, against Django's stock one.

This module is also the benchmark project's URLconf (``ROOT_URLCONF``).
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import importlib.util
from time import perf_counter_ns
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
    median_ci,
    one,
    paired,
)

ID = "P1d"
TITLE = "P1d - Django request: lifespan-aware handlers against the stock handler"
NEEDS_PEER = False

urlpatterns: list[Any] = []


def has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def setup_django() -> bool:
    """Configure a minimal Django project once per process; return whether Django is here."""
    if not has("django"):
        return False
    import django
    from django.conf import settings

    if settings.configured:
        return True
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmarks-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=["asgi_lifecycle_django"] if has("asgi_lifecycle_django") else [],
        DATABASES={},
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup(set_prefix=False)
    from django.http import HttpRequest, HttpResponse
    from django.urls import path

    def home(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok", content_type="text/plain")

    urlpatterns.append(path("", home))
    return True


def _receive() -> _asgi.Receive:
    """A request's ``receive``: the body, then nothing until Django stops listening."""
    sent = False

    async def receive() -> _asgi.Message:
        nonlocal sent
        if not sent:
            sent = True
            return _asgi.REQUEST
        await asyncio.get_running_loop().create_future()  # cancelled by Django
        raise AssertionError("unreachable")

    return receive


async def _time(app: Any, count: int) -> float:
    """Serve ``count`` Django requests; return microseconds per request."""
    base = _asgi.http_scope()
    start = perf_counter_ns()
    for _ in range(count):
        scope = base.copy()
        scope["state"] = _asgi.STATE.copy()
        await app(scope, _receive(), _asgi.discard)
    return (perf_counter_ns() - start) / count / 1000


async def _check(app: Any) -> None:
    sent: list[_asgi.Message] = []

    async def record(message: _asgi.Message) -> None:
        sent.append(message)

    scope = _asgi.http_scope()
    scope["state"] = _asgi.STATE.copy()
    await app(scope, _receive(), record)
    if not sent or sent[0].get("status") != 200:
        raise RuntimeError(f"{app!r} did not answer 200: {sent!r}")


def run(cfg: Config, peer: Peer) -> Section:
    return asyncio.run(_run(cfg))


async def _run(cfg: Config) -> Section:
    section = Section(ID, TITLE)
    cases = {
        "dal": "django-asgi-lifespan handler",
        "ours": "asgi_lifecycle_django.get_asgi_application()",
    }
    labels = {"dal": "django-asgi-lifespan", "ours": "asgi-lifecycle-django"}
    if not setup_django():
        section.skip("P1d.stock", "Django stock ASGIHandler", "django is not installed")
        for name, case in cases.items():
            section.skip(f"P1d.{name}", case, "django is not installed")
        return section
    from django.core.asgi import get_asgi_application

    handlers: dict[str, Any] = {"stock": get_asgi_application()}
    skipped: dict[str, str] = {}
    if has("django_asgi_lifespan"):
        from django_asgi_lifespan.asgi import get_asgi_application as dal_application

        handlers["dal"] = dal_application()
    else:
        skipped["dal"] = "django-asgi-lifespan is not installed"
    try:
        from asgi_lifecycle import Lifespan

        # Imported by name: the Django adapter is optional here, as django-asgi-lifespan is.
        django_adapter = importlib.import_module("asgi_lifecycle_django")
        handlers["ours"] = django_adapter.get_asgi_application(lifespan=Lifespan())
    except Exception as exc:  # not written yet, or broken: say so instead of failing all
        skipped["ours"] = f"asgi_lifecycle_django is not usable: {type(exc).__name__}: {exc}"

    rounds = cfg.pick(2, 30, 100)
    batch = cfg.pick(2, 20, 25)
    drivers = [_asgi.LifespanDriver(handlers[name]) for name in ("dal", "ours") if name in handlers]
    for driver in drivers:
        await driver.startup()
    try:
        for handler in handlers.values():
            await _check(handler)
        variants: list[tuple[str, Measure]] = [
            one(name, functools.partial(_time, handler, batch))
            for name, handler in handlers.items()
        ]
        samples = await alternate(rounds, variants)
    finally:
        for driver in drivers:
            await driver.shutdown()

    stock = samples["stock"]
    section.add(
        Row(
            "P1d.stock", "Django stock ASGIHandler", median(stock), "us", f"{median(stock):,.0f} us"
        )
    )
    section.chart["us"] = {"Django stock": median(stock)}
    for name, case in cases.items():
        if name in skipped:
            section.skip(f"P1d.{name}", case, skipped[name], target="within noise of stock")
            continue
        relative = [d / b for d, b in zip(paired(samples[name], stock), stock, strict=True)]
        low, high = median_ci(relative)
        value = median(samples[name])
        verdict: Any = "pass" if low <= 0 <= high else ("pass" if high < 0 else "MISS")
        section.add(
            Row(
                f"P1d.{name}",
                case,
                value,
                "us",
                f"{value:,.0f} us",
                ref="stock handler",
                ratio=1 + median(relative),
                target="within noise of stock" if name == "ours" else "",
                verdict=verdict if name == "ours" else "info",
                note=f"paired per round: {median(relative):+.1%} (95% CI {low:+.1%}..{high:+.1%})",
            )
        )
        section.chart["us"][labels[name]] = value
    return section
