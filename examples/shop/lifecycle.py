"""The shop's startup and shutdown, written once: every process of the service runs this module.

Each process imports it and hands `lifespan` to its framework's adapter with its own service
type, and so runs exactly the hooks meant for it:

    process          framework     service type   file
    storefront       Django        "app"          django_site/asgi.py
    orders API       FastAPI       "api"          fastapi_app.py
    inventory API    Litestar      "inventory"    litestar_app.py
    task workers     Celery        "worker"       celery_app.py (each pool process)
    scheduler        Celery beat   "scheduler"    celery_app.py

Phases run one after another (priority 0, then 1, then 2); the hooks of one phase start side
by side. Shutdown runs everything in reverse. A critical hook that fails stops the startup and
rolls back what had started: the process refuses to serve.
"""

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Iterator

import httpx

import recorder
from asgi_lifecycle import Lifespan, LifespanContext
from asgi_lifecycle.prometheus import PrometheusListener
from store import Catalogue, Database

WEB = ("app", "api", "inventory")  # the processes that serve HTTP

# The service's own registry rather than the process-wide `asgi_lifecycle.lifespan`, so that
# these settings hold in every process: the hooks of a phase run concurrently, and the whole
# startup has a budget (Celery needs one to know how long a pool process may take to start).
lifespan = Lifespan(concurrent=True, startup_timeout=10.0, shutdown_timeout=10.0)


# -- phase 0: every process ------------------------------------------------------------------


@lifespan.resource(priority=0, timeout=5)
def database(context: LifespanContext) -> Iterator[Database]:
    """Open the SQLite database; a file that was never migrated stops the startup."""
    db = Database.open(context.get_config("database.path"))
    yield db  # request handlers and tasks read it as state["database"]
    db.close()


@lifespan.health_check(resource=database)
def database_answers(db: Database) -> int:
    """Readiness: the database answers a query; its probes report the number of products."""
    return len(db.products())


# -- phase 1: side by side -------------------------------------------------------------------


@lifespan.resource(priority=1, service_types=WEB)
async def catalogue(context: LifespanContext) -> AsyncIterator[Catalogue]:
    """Load the products into memory before the first request: pages need no query."""
    db: Database = context.state["database"]
    yield Catalogue(await asyncio.to_thread(db.products))


@lifespan.on_start(priority=1, service_types="worker")
def register_worker(context: LifespanContext) -> None:
    """Tell the database that this worker process is ready for tasks."""
    context.state["database"].register_worker(os.getpid())


@lifespan.resource(priority=1, service_types="scheduler")
def scheduler_lock(context: LifespanContext) -> Iterator[None]:
    """Hold the scheduler's lock while beat runs: a second beat would send every task twice."""
    path = context.get_config("scheduler.lock")
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the OS frees it if beat dies
        except BlockingIOError:
            raise RuntimeError(f"another scheduler holds {path}: run only one beat") from None
        yield  # closing the file at shutdown releases the lock


@lifespan.resource(priority=1, service_types=["api", "worker"])
async def http(context: LifespanContext) -> AsyncIterator[httpx.AsyncClient]:
    """One HTTP client per process, to the inventory service: its connections are reused."""
    url = context.get_config("inventory.url")
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        yield client


@lifespan.on_start(priority=1, service_types="api", after=http, timeout=3)
async def check_inventory(context: LifespanContext) -> None:
    """Refuse to start the orders API while the inventory service does not answer."""
    client: httpx.AsyncClient = context.state["http"]
    try:
        response = await client.get("/health/ready")
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise RuntimeError(
            f"the inventory service at {client.base_url} is not ready ({type(exc).__name__}: "
            f"{exc}); start it before the orders API"
        ) from exc


# -- phase 2 ---------------------------------------------------------------------------------


@lifespan.resource(priority=2, service_types=WEB)
async def catalogue_refresher(context: LifespanContext) -> AsyncIterator[None]:
    """Reload the catalogue every second in the background, until shutdown cancels it."""
    db: Database = context.state["database"]
    cache: Catalogue = context.state["catalogue"]
    interval: float = context.get_config("catalogue.refresh_seconds", 1.0)

    async def refresh_forever() -> None:
        while True:
            await asyncio.sleep(interval)
            cache.replace(await asyncio.to_thread(db.products))

    task = asyncio.create_task(refresh_forever(), name="catalogue refresher")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# -- shutdown only ---------------------------------------------------------------------------


@lifespan.on_shutdown(priority=1, service_types="worker")
def deregister_worker(context: LifespanContext) -> None:
    """Tell the database that this worker process takes no more tasks."""
    context.state["database"].deregister_worker(os.getpid())


# Prometheus metrics of every hook, phase and state, the same line in every process (the
# asgi-lifecycle[prometheus] extra); the orders API serves them at /metrics.
lifespan.add_listener(PrometheusListener())

# The demo's runner prints what ran where: this records every hook result (see recorder.py).
recorder.install(lifespan)
