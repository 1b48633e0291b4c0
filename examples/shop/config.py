"""Where the shop's processes find their database, each other and the broker: one place.

`run.py` sets the ``SHOP_*`` environment variables for every process it starts. A process
started by hand falls back to the defaults: a folder in the system's temporary directory, the
inventory service on port 8001, and Celery's filesystem broker in that folder.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

DATA = Path(os.environ.get("SHOP_DATA") or Path(tempfile.gettempdir()) / "asgi-lifecycle-shop")
DATABASE = DATA / "shop.sqlite3"
INVENTORY_URL = os.environ.get("SHOP_INVENTORY_URL") or "http://127.0.0.1:8001"
# Empty: Celery's filesystem broker in DATA/broker, so that no server is needed. Otherwise a
# Redis or RabbitMQ URL, such as redis://127.0.0.1:6379/0 or amqp://guest@127.0.0.1//.
BROKER_URL = os.environ.get("SHOP_BROKER_URL") or ""
BROKER_FOLDER = DATA / "broker"
# The readiness files of the Celery workers' processes (asgi_lifecycle_celery.probe).
WORKER_HEALTH = str(DATA / "worker-health")

# What the hooks read with context.get_config(...), handed to each framework's adapter.
CONFIG: dict[str, Any] = {
    "database": {"path": str(DATABASE)},
    "inventory": {"url": INVENTORY_URL},
    "catalogue": {"refresh_seconds": 1.0},
    "scheduler": {"lock": str(DATA / "beat.lock")},
}
