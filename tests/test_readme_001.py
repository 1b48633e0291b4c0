"""The public API and the examples of the asgi-lifecycle 0.0.1 README keep working."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from asgi_lifecycle import LifespanContext, LifespanMiddleware, ServiceType, lifespan

pytestmark = pytest.mark.anyio
logger = logging.getLogger(__name__)


class FakeDatabase:
    """Records what the README's hooks do to their database."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def connect(self) -> None:
        self.calls.append("connect")

    async def connect_with_ssl(self) -> None:
        self.calls.append("connect_with_ssl")

    async def disconnect(self) -> None:
        self.calls.append("disconnect")


@pytest.fixture
def database() -> Iterator[FakeDatabase]:
    """The README's hooks, registered on the process-wide lifespan as the README does."""
    lifespan.reset_instance()
    database = FakeDatabase()

    @lifespan.on_start()
    async def setup_logging(context: LifespanContext) -> None:
        logger.info(f"Starting {context.service_type} in {context.environment}")

    @lifespan.on_start(priority=1, service_types=["app"])
    async def setup_database(context: LifespanContext) -> None:
        if context.environment == "production":
            await database.connect_with_ssl()
        else:
            await database.connect()
        context.set_metadata("database_connected", True)

    @lifespan.on_shutdown(priority=1, service_types=["app"])
    async def close_database(context: LifespanContext) -> None:
        if context.get_metadata("database_connected", False):
            await database.disconnect()

    yield database
    lifespan.reset_instance()


async def test_quickstart_startup_and_shutdown(database: FakeDatabase) -> None:
    """startup(context) and shutdown(context) run the hooks; is_initialized() tracks it."""
    context = LifespanContext(service_type="app", environment="production", config={"a": 1})
    assert not lifespan.is_initialized()
    await lifespan.startup(context)
    assert lifespan.is_initialized()
    assert context.get_config("a") == 1
    await lifespan.shutdown(context)
    assert not lifespan.is_initialized()
    assert database.calls == ["connect_with_ssl", "disconnect"]


async def test_django_middleware_example(database: FakeDatabase) -> None:
    """LifespanMiddleware(django_app), as the README writes it, runs the hooks around Django."""
    django = pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["*"], SECRET_KEY="readme", ROOT_URLCONF=__name__)
    django.setup()
    from django.core.asgi import get_asgi_application

    django_app = get_asgi_application()
    application = LifespanMiddleware(django_app)
    sent: list[dict[str, Any]] = []
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for message in ({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}):
        inbox.put_nowait(message)

    async def send(message: Any) -> None:
        sent.append(message)

    await asyncio.wait_for(
        application({"type": "lifespan", "state": {}}, inbox.get, send), timeout=10
    )
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert database.calls == ["connect", "disconnect"]


urlpatterns: list[Any] = []


async def test_fastapi_style_lifespan_example(database: FakeDatabase) -> None:
    """The README's FastAPI lifespan function (a Starlette lifespan) runs the 'api' hooks."""
    from starlette.applications import Starlette

    @contextlib.asynccontextmanager
    async def lifespan_context(app: Starlette) -> AsyncIterator[None]:
        context = LifespanContext(service_type="api")
        await lifespan.startup(context)
        yield
        await lifespan.shutdown(context)

    app = Starlette(lifespan=lifespan_context)
    async with app.router.lifespan_context(app):
        assert lifespan.is_initialized()
    assert not lifespan.is_initialized()
    assert database.calls == []  # setup_database is for "app" only, as in the README


def test_celery_recipe_with_separate_event_loops(database: FakeDatabase) -> None:
    """The README's Celery recipe, two async_to_sync calls with fresh contexts, closes the db."""
    from asgiref.sync import async_to_sync

    def init_worker_process(sender: Any = None, conf: Any = None, **kwargs: Any) -> None:
        context = LifespanContext(service_type="app", environment="production",
                                  config={"celery_conf": conf})  # fmt: skip
        async_to_sync(lifespan.startup)(context)

    def shutdown_worker_process(sender: Any = None, **kwargs: Any) -> None:
        context = LifespanContext(service_type="app", environment="production")
        async_to_sync(lifespan.shutdown)(context)

    init_worker_process(conf={})
    shutdown_worker_process()
    assert database.calls == ["connect_with_ssl", "disconnect"]


async def test_service_type_examples_with_zero_argument_hooks() -> None:
    """Zero-argument hooks filtered by service type run only where they belong."""
    lifespan.reset_instance()
    ran: list[str] = []
    try:

        @lifespan.on_start(service_types=["app"])
        async def setup_web_server() -> None:
            ran.append("web")

        @lifespan.on_start(service_types=["worker"])
        async def setup_worker_pool() -> None:
            ran.append("worker")

        @lifespan.on_start(service_types=["app", "worker"])
        async def setup_shared_resources() -> None:
            ran.append("shared")

        for service in (ServiceType.APP, ServiceType.WORKER):
            context = LifespanContext(service_type=service)
            await lifespan.startup(context)
            await lifespan.shutdown(context)
        assert ran == ["web", "shared", "worker", "shared"]
    finally:
        lifespan.reset_instance()


async def test_error_handling_example_does_not_stop_startup() -> None:
    """A hook that catches its own error, as the README shows, lets startup continue."""
    lifespan.reset_instance()

    class Unreachable:
        async def connect(self) -> None:
            raise ConnectionError("down")

    database = Unreachable()
    try:

        @lifespan.on_start(priority=1)
        async def setup_database() -> None:
            try:
                await database.connect()
            except Exception as e:
                logger.error(f"Database connection failed: {e}")

        report = await lifespan.startup(LifespanContext())
        assert report.ok
        await lifespan.shutdown(LifespanContext())
    finally:
        lifespan.reset_instance()
