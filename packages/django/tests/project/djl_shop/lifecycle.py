"""The shop's hooks: autodiscovered because the app is installed."""

import os
from collections.abc import Iterator
from typing import Any

from asgiref.sync import sync_to_async
from djl_site.record import record

from asgi_lifecycle import LifespanContext, lifespan
from djl_shop.models import Item


@lifespan.on_start(priority=0)
def seed(context: LifespanContext) -> None:
    """Create the seed item with the ORM from a sync hook (thread-sensitive)."""
    from django.db import connection

    Item.objects.get_or_create(name="seeded")
    # The raw connection this hook used: the tests check it is closed after startup.
    context.set_metadata("seed_connection", connection.connection)
    record("seed")


@lifespan.resource(priority=10, key="catalog")
def catalog(context: LifespanContext) -> Iterator[dict[str, Any]]:
    """Publish the catalogue summary as state; a sync generator resource."""
    shelf = {
        "names": sorted(Item.objects.values_list("name", flat=True)),
        "greeting": context.get_config("shop.greeting"),
    }
    record("catalog setup")
    yield shelf
    record("catalog teardown")


@lifespan.on_start(priority=20)
async def count_async(context: LifespanContext) -> None:
    """Use the ORM from an async hook, through sync_to_async."""
    count = await sync_to_async(Item.objects.count)()
    context.set_metadata("count_at_startup", count)
    record(f"count_async {count}")


@lifespan.on_shutdown(priority=0)
def farewell() -> None:
    """Use the ORM at shutdown from a sync hook; fail when $DJL_FAIL_SHUTDOWN is set."""
    record(f"farewell {Item.objects.count()}")
    if os.environ.get("DJL_FAIL_SHUTDOWN"):
        raise OSError("cannot flush the shop")


@lifespan.on_start(service_types="app", environments="production")
def only_in_app_production() -> None:
    """Runs only for the app service in production (filtered out everywhere else)."""
    record("production only")
