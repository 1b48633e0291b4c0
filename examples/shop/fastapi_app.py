"""The orders API, on FastAPI: service type "api".

    uvicorn fastapi_app:app

It takes orders and hands them to the Celery workers. The hooks give it the database, the
catalogue, an HTTP client, and a readiness check of the inventory service it depends on.
"""

import os
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

import asgi_lifecycle_fastapi
import config
import lifecycle
from asgi_lifecycle_fastapi import LifecycleContext, health_router
from celery_app import fulfil_order
from store import Catalogue, Database

app = FastAPI(
    title="shop: orders",
    lifespan=asgi_lifecycle_fastapi.lifespan(
        service_type="api", config=config.CONFIG, lifespan=lifecycle.lifespan
    ),
)


# /health/ready and /health/live: the probes a process manager or Kubernetes asks.
app.include_router(health_router(lifecycle.lifespan, service_type="api"))


class NewOrder(BaseModel):
    """An order as a client places it."""

    sku: str
    quantity: int = Field(gt=0)


@app.get("/whoami")
def whoami(context: LifecycleContext) -> dict[str, Any]:
    """Say which process answers: the run's context is a dependency."""
    return {"status": "ok", "service_type": context.service_type, "pid": os.getpid()}


@app.get("/metrics")
def metrics() -> Response:
    """The Prometheus metrics of this process, the lifecycle's among them (lifecycle.py)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@app.get("/products")
def products(request: Request) -> list[dict[str, Any]]:
    """List the products, from the catalogue the hooks loaded (no query)."""
    catalogue: Catalogue = request.state.catalogue
    return [
        {"sku": p.sku, "name": p.name, "price_cents": p.price_cents} for p in catalogue.products
    ]


@app.post("/orders", status_code=202)
def place_order(order: NewOrder, request: Request) -> dict[str, Any]:
    """Record an order and queue it for a worker."""
    catalogue: Catalogue = request.state.catalogue
    if catalogue.get(order.sku) is None:
        raise HTTPException(404, f"no product {order.sku!r}")
    db: Database = request.state.database
    order_id = db.add_order(order.sku, order.quantity)
    fulfil_order.delay(order_id)
    return {"id": order_id, "status": "queued"}


@app.get("/orders/{order_id}")
def get_order(order_id: int, request: Request) -> dict[str, Any]:
    """Show an order, and which worker process handled it."""
    db: Database = request.state.database
    order = db.order(order_id)
    if order is None:
        raise HTTPException(404, f"no order {order_id}")
    return {
        "id": order.id,
        "sku": order.sku,
        "quantity": order.quantity,
        "status": order.status,
        "handled_by": order.handled_by,
    }
