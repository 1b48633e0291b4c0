"""The shop's data: one SQLite file that every process of the service opens.

`migrate` creates it, once per deployment, before any process starts (`run.py` does it; by
hand: ``python store.py``). The hooks open it with `Database.open`, which refuses a file that
was never migrated rather than serving from an empty database.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL, stock INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT, sku TEXT NOT NULL, quantity INTEGER NOT NULL,
    status TEXT NOT NULL, handled_by INTEGER
);
CREATE TABLE IF NOT EXISTS workers (
    pid INTEGER PRIMARY KEY, started REAL NOT NULL, stopped REAL
);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, pid INTEGER NOT NULL,
    units INTEGER NOT NULL
);
"""
PRODUCTS = [
    ("tea", "Green tea, 100 g", 650, 40),
    ("mug", "Stoneware mug", 1200, 12),
    ("teapot", "Cast-iron teapot", 4500, 3),
]


@dataclass(frozen=True)
class Product:
    """One product, as the catalogue shows it."""

    sku: str
    name: str
    price_cents: int
    stock: int


@dataclass(frozen=True)
class Order:
    """One order, and the worker process that handled it."""

    id: int
    sku: str
    quantity: int
    status: str
    handled_by: int | None


class NotMigrated(RuntimeError):
    """The database file is missing, or was created without the shop's tables."""


def migrate(path: Path) -> None:
    """Create the database with its tables and the first products; keep what exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        # WAL: readers in one process never wait for a writer in another.
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(SCHEMA)
        connection.executemany("INSERT OR IGNORE INTO products VALUES (?, ?, ?, ?)", PRODUCTS)
    connection.close()


class Database:
    """One connection to the shop's database, usable from any thread of the process.

    SQLite connections are not safe to use from two threads at once, and handlers run in
    several, so every query holds a lock.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | Path) -> Database:
        """Open the migrated database at ``path``.

        Raises:
            NotMigrated: the file is missing or has no shop tables (run `migrate` first).
        """
        hint = f"run the migration first: python store.py {path}"
        if not Path(path).is_file():
            raise NotMigrated(f"no database at {path}; {hint}")
        connection = sqlite3.connect(
            path, timeout=5.0, check_same_thread=False, isolation_level=None
        )
        try:
            connection.execute("SELECT count(*) FROM products").fetchone()
        except sqlite3.OperationalError as exc:
            connection.close()
            raise NotMigrated(f"the database at {path} has no shop tables ({exc}); {hint}") from exc
        return cls(connection)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._connection.close()

    def products(self) -> list[Product]:
        """Return every product, by SKU."""
        with self._lock:
            rows = self._connection.execute("SELECT * FROM products ORDER BY sku").fetchall()
        return [Product(*row) for row in rows]

    def reserve(self, sku: str, quantity: int) -> int | None:
        """Take ``quantity`` units of ``sku`` out of stock; return what is left, or None."""
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")  # no other process writes in between
            try:
                taken = self._connection.execute(
                    "UPDATE products SET stock = stock - ? WHERE sku = ? AND stock >= ?",
                    (quantity, sku, quantity),
                ).rowcount
                row = self._connection.execute(
                    "SELECT stock FROM products WHERE sku = ?", (sku,)
                ).fetchone()
            finally:
                self._connection.execute("COMMIT")
        return int(row[0]) if taken and row is not None else None

    def add_order(self, sku: str, quantity: int) -> int:
        """Record a new order as queued; return its id."""
        with self._lock:
            cursor = self._connection.execute(
                "INSERT INTO orders (sku, quantity, status) VALUES (?, ?, 'queued')",
                (sku, quantity),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def order(self, order_id: int) -> Order | None:
        """Return one order, or None."""
        with self._lock:
            row = self._connection.execute(
                "SELECT * FROM orders WHERE id = ?", (order_id,)
            ).fetchone()
        return None if row is None else Order(*row)

    def finish_order(self, order_id: int, status: str, pid: int) -> None:
        """Record what became of an order, and which process decided it."""
        with self._lock:
            self._connection.execute(
                "UPDATE orders SET status = ?, handled_by = ? WHERE id = ?",
                (status, pid, order_id),
            )

    def register_worker(self, pid: int) -> None:
        """Note that a worker process is ready to take tasks."""
        with self._lock:
            self._connection.execute(
                "INSERT OR REPLACE INTO workers (pid, started) VALUES (?, ?)", (pid, time.time())
            )

    def deregister_worker(self, pid: int) -> None:
        """Note that a worker process stopped."""
        with self._lock:
            self._connection.execute(
                "UPDATE workers SET stopped = ? WHERE pid = ?", (time.time(), pid)
            )

    def workers(self) -> list[tuple[int, bool]]:
        """Return every worker process that registered, and whether it deregistered."""
        with self._lock:
            rows = self._connection.execute("SELECT pid, stopped FROM workers").fetchall()
        return [(int(pid), stopped is not None) for pid, stopped in rows]

    def add_report(self, pid: int, products: Iterable[Product]) -> int:
        """Record a stock report; return the units in stock."""
        units = sum(product.stock for product in products)
        with self._lock:
            self._connection.execute(
                "INSERT INTO reports (at, pid, units) VALUES (?, ?, ?)", (time.time(), pid, units)
            )
        return units

    def reports(self) -> list[tuple[int, int]]:
        """Return the stock reports: the worker process that made each, and the units."""
        with self._lock:
            rows = self._connection.execute("SELECT pid, units FROM reports ORDER BY id").fetchall()
        return [(int(pid), int(units)) for pid, units in rows]


class Catalogue:
    """The products, kept in memory for the web processes: no query per page.

    Refreshed in place (`replace`), so that every request sees the new products: the lifespan
    state a request gets is a shallow copy, and holds this same object.
    """

    def __init__(self, products: Iterable[Product]) -> None:
        self.products: tuple[Product, ...] = tuple(products)
        self.refreshes = 0

    def replace(self, products: Iterable[Product]) -> None:
        """Swap in freshly loaded products."""
        self.products = tuple(products)
        self.refreshes += 1

    def get(self, sku: str) -> Product | None:
        """Return the product with this SKU, or None."""
        return next((product for product in self.products if product.sku == sku), None)


if __name__ == "__main__":
    from config import DATABASE

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DATABASE
    migrate(target)
    print(f"migrated {target}")
