"""The shop's Celery app: the task workers (service type "worker") and beat ("scheduler").

    celery -A celery_app worker     # every pool process runs the worker's hooks
    celery -A celery_app beat       # the scheduler runs its own

The broker is Celery's filesystem transport in a folder by default, so nothing has to be
installed or running; set ``SHOP_BROKER_URL`` to use Redis or RabbitMQ instead.
"""

import os

import httpx
from celery import Celery

import asgi_lifecycle_celery
import config
import lifecycle
from store import Database

app = Celery("shop")
app.conf.update(
    task_ignore_result=True,  # orders record their outcome in the database
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    beat_schedule={"stock-report": {"task": "shop.stock_report", "schedule": 1.0}},
)
if config.BROKER_URL:
    app.conf.update(broker_url=config.BROKER_URL)
else:
    folders = {
        "data_folder_in": config.BROKER_FOLDER / "queue",
        "data_folder_out": config.BROKER_FOLDER / "queue",
        "processed_folder": config.BROKER_FOLDER / "processed",
        "control_folder": config.BROKER_FOLDER / "control",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)  # the transport never creates them
    app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            **{name: str(folder) for name, folder in folders.items()},
            "store_processed": True,  # else messages pass through the system's temp folder
            "polling_interval": 0.1,
        },
    )

# Worker pool processes run the hooks for "worker", beat for "scheduler".
# Each pool process keeps a readiness file: `python -m asgi_lifecycle_celery.probe <file>`.
asgi_lifecycle_celery.install(
    app, lifespan=lifecycle.lifespan, config=config.CONFIG, health_file=config.WORKER_HEALTH
)


@app.task(name="shop.fulfil_order")
def fulfil_order(order_id: int) -> str:
    """Reserve the stock of an order at the inventory service; record the outcome."""
    state = asgi_lifecycle_celery.current_context().state
    db: Database = state["database"]
    http: httpx.AsyncClient = state["http"]  # made at startup, in this process
    order = db.order(order_id)
    if order is None:
        return "unknown"
    reservation = {"sku": order.sku, "quantity": order.quantity}
    # The client lives on this process's event loop: run() awaits the request there.
    response = asgi_lifecycle_celery.run(http.post("/reservations", json=reservation))
    status = "confirmed" if response.status_code == httpx.codes.CREATED else "rejected"
    db.finish_order(order_id, status, os.getpid())
    return status


@app.task(name="shop.stock_report")
def stock_report() -> int:
    """Beat's periodic task: record how many units are in stock."""
    db: Database = asgi_lifecycle_celery.current_context().state["database"]
    return db.add_report(os.getpid(), db.products())
