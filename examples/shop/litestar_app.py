"""The inventory API, on Litestar: service type "inventory".

    uvicorn litestar_app:app

It owns the stock: the workers reserve units here. The orders API checks at its startup
that this service answers.
"""

import os
from dataclasses import asdict, dataclass
from typing import Any

from litestar import Litestar, Response, get, post
from litestar.datastructures import State

import config
import lifecycle
from asgi_lifecycle_litestar import LifecycleContext, LifecyclePlugin
from store import Catalogue, Database


@dataclass
class Reservation:
    """Units of one product that an order takes out of stock."""

    sku: str
    quantity: int


@get("/whoami", sync_to_thread=False)
def whoami(lifecycle_context: LifecycleContext) -> dict[str, Any]:
    """Say which process answers: the plugin injects the run's context."""
    return {"status": "ok", "service_type": lifecycle_context.service_type, "pid": os.getpid()}


@get("/stock", sync_to_thread=True)
def stock(state: State) -> dict[str, int]:
    """The units in stock, per product, read from the database."""
    db: Database = state.database
    return {product.sku: product.stock for product in db.products()}


@post("/reservations", sync_to_thread=True)
def reserve(data: Reservation, state: State) -> Response[dict[str, Any]]:
    """Take units out of stock: 201 when there were enough, 409 when not."""
    catalogue: Catalogue = state.catalogue
    if catalogue.get(data.sku) is None:
        return Response({"error": f"no product {data.sku!r}"}, status_code=404)
    db: Database = state.database
    left = db.reserve(data.sku, data.quantity)
    if left is None:
        return Response({"error": "not enough stock", **asdict(data)}, status_code=409)
    return Response({**asdict(data), "left": left}, status_code=201)


app = Litestar(
    route_handlers=[whoami, stock, reserve],
    plugins=[
        LifecyclePlugin(
            service_type="inventory",
            config=config.CONFIG,
            lifespan=lifecycle.lifespan,
            health_path="/health",  # /health/ready and /health/live
        )
    ],
)
