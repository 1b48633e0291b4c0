"""The shop demo: one hook module runs the startup and shutdown of every process of a service.

    hatch run demo                       # from the repository root (or: python run.py here)
    hatch run demo --keep-running        # leave the servers up and print their addresses
    hatch run demo --break readiness     # the inventory service is missing: the orders API
                                         # refuses to start and rolls back; exits 1
    hatch run demo --broker redis://127.0.0.1:6379/0    # Redis or RabbitMQ, not a folder

It starts on 127.0.0.1 the inventory API (Litestar), the storefront (Django), the orders API
(FastAPI), a Celery worker and Celery beat, all importing `lifecycle.py`; makes a few
requests and places an order that a worker fulfils; stops everything with SIGTERM; and
prints which hooks ran in which process, how they ended and how long they took. It exits 1
if anything went wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

import report
import store
from asgi_lifecycle_celery.probe import readiness

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 30.0  # from spawning a server to its first answer
STOP_TIMEOUT = 20.0  # from SIGTERM to the exit
TASK_TIMEOUT = 30.0  # from queueing a task to its outcome
WORKER_PROCESSES = 2
# uvicorn 0.29 and newer re-raise SIGTERM after a graceful shutdown: -15 is a clean stop.
UVICORN_CLEAN = frozenset({0, -signal.SIGTERM})
CELERY_CLEAN = frozenset({0})
CELERY = ["-m", "celery", "-A", "celery_app"]


class Interrupted(Exception):
    """SIGTERM or Ctrl-C reached the runner."""


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


def say(line: str = "") -> None:
    """Print a line at once, even when the output is a pipe."""
    print(line, flush=True)


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct ports that nothing on 127.0.0.1 listens on right now."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


@dataclass
class Process:
    """One process of the shop, started as a subprocess in a process group of its own."""

    name: str
    framework: str
    args: list[str]
    clean: frozenset[int] = UVICORN_CLEAN  # the exit statuses of a clean stop
    popen: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    spawned: float = 0.0  # when it was started, a wall-clock time
    terminated: float | None = None  # when it was sent SIGTERM, a wall-clock time

    @property
    def port(self) -> int | None:
        """The port it serves on (uvicorn's ``--port``), or None: Celery serves no HTTP."""
        return int(self.args[self.args.index("--port") + 1]) if "--port" in self.args else None

    @property
    def url(self) -> str:
        """Where it serves, for a web process."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """Its process id (0 before it started)."""
        return self.popen.pid if self.popen is not None else 0

    def start(self, env: dict[str, str], logs: Path) -> None:
        """Spawn it, its output going to a log file."""
        self.log = logs / f"{self.name}.log"
        self.spawned = time.time()
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                [sys.executable, *self.args],
                cwd=HERE,
                env={**env, "SHOP_PROCESS": self.name},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # A group of its own: Ctrl-C reaches the runner alone, which then stops each
                # process with SIGTERM; and kill() reaches a Celery worker's pool processes.
                start_new_session=True,
            )

    def exit_status(self) -> int | None:
        """Its exit status, or None while it runs."""
        return None if self.popen is None else self.popen.poll()

    def terminate(self) -> None:
        """Ask it to stop, as a process manager does: SIGTERM."""
        if self.popen is not None and self.popen.poll() is None:
            self.terminated = time.time()
            self.popen.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int | None:
        """Wait for its exit; return the status, or None if it is still running."""
        if self.popen is None:
            return None
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Kill it and whatever is left of its process group."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5.0)

    def tail(self, lines: int = 5) -> str:
        """The end of its output."""
        if self.log is None or not self.log.exists():
            return ""
        text = self.log.read_text(errors="replace").rstrip().splitlines()
        return "\n".join(f"    | {line}" for line in text[-lines:])


def uvicorn(target: str, port: int) -> list[str]:
    """The arguments that serve an ASGI application with uvicorn on 127.0.0.1."""
    # --lifespan on: a server whose startup fails must stop, not serve without its resources.
    host = ["--host", "127.0.0.1", "--port", str(port)]
    return ["-m", "uvicorn", target, *host, "--lifespan", "on", "--no-access-log"]


class Demo:
    """The shop's processes, what the demo does with them, and what it found."""

    def __init__(self, options: argparse.Namespace, data: Path) -> None:
        self.options = options
        self.data = data
        self.events = data / "events.jsonl"
        self.database = data / "shop.sqlite3"
        self.problems: list[str] = []
        self.requests = 0
        self.tasks = 0
        inventory, storefront, api = free_ports(3)
        self.inventory = Process("inventory", "Litestar", uvicorn("litestar_app:app", inventory))
        self.storefront = Process(
            "storefront", "Django", uvicorn("django_site.asgi:application", storefront)
        )
        self.api = Process("api", "FastAPI", uvicorn("fastapi_app:app", api))
        pool = ["--pool=prefork", f"--concurrency={WORKER_PROCESSES}"]
        # Mingle, gossip and heartbeats talk to other workers: there are none.
        alone = ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        self.worker = Process(
            "worker", "Celery", [*CELERY, "worker", "--loglevel=INFO", *pool, *alone], CELERY_CLEAN
        )
        schedule = f"--schedule={data / 'beat-schedule'}"
        self.beat = Process(
            "beat", "Celery beat", [*CELERY, "beat", "--loglevel=INFO", schedule], CELERY_CLEAN
        )
        self.processes = [self.inventory, self.storefront, self.api, self.worker, self.beat]

    # -- the steps -------------------------------------------------------------------------

    def run(self) -> int:
        """Run the whole demo; return the exit status."""
        say("asgi-lifecycle shop demo: one hook module (lifecycle.py), every process of a service")
        say()
        try:
            self.prepare()
            if self.start():
                self.exercise()
                if self.options.keep_running:
                    self.serve_until_interrupted()
        except DemoError as exc:
            self.problems.append(str(exc))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self.problems.append(f"an unexpected answer: {type(exc).__name__}: {exc}")
        except Interrupted as exc:
            self.problems.append(f"interrupted by {exc}")
        finally:
            self.stop()
        self.summarize()
        return 1 if self.problems else 0

    def environment(self) -> dict[str, str]:
        """The environment of every process: where the data, the broker and the others are."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("SHOP_")}
        path = [str(HERE), *filter(None, [env.get("PYTHONPATH")])]
        env.update(
            PYTHONPATH=os.pathsep.join(path),
            PYTHONUNBUFFERED="1",
            SHOP_DATA=str(self.data),
            SHOP_EVENTS=str(self.events),
            SHOP_INVENTORY_URL=self.inventory.url,
            SHOP_BROKER_URL=self.options.broker or "",
        )
        return env

    def prepare(self) -> None:
        """Migrate the database: once per deployment, before any process starts."""
        broker = self.options.broker or ""
        if broker.startswith(("redis:", "rediss:")) and importlib.util.find_spec("redis") is None:
            raise DemoError(f"--broker {broker} needs the Redis client: pip install redis")
        store.migrate(self.database)
        say(f"database  {self.database.name}, migrated: {len(store.PRODUCTS)} products")
        broker = self.options.broker or "Celery's filesystem transport, in a temporary folder"
        say(f"broker    {broker}")
        say()

    def start(self) -> bool:
        """Start the inventory service, then the others side by side; return if all are up."""
        env = self.environment()
        logs = self.data / "logs"
        logs.mkdir()
        if self.options.break_ == "readiness":
            say("--break readiness: the inventory service is not started, so the readiness check")
            say("of the orders API (check_inventory) fails, and the API refuses to start")
            say()
        say("processes: the inventory service first (the orders API checks it as it starts),")
        say("then the others side by side")
        if self.options.break_ != "readiness":
            self.inventory.start(env, logs)
            self.wait_ready(self.inventory, time.monotonic() + START_TIMEOUT)
        others = [self.storefront, self.api, self.worker, self.beat]
        for process in others:
            process.start(env, logs)
        deadline = time.monotonic() + START_TIMEOUT
        up = True
        for process in others:  # wait for each, so that a failure shows every other process
            try:
                self.wait_ready(process, deadline)
            except DemoError as exc:
                self.problems.append(str(exc))
                up = False
        say()
        return up

    def wait_ready(self, process: Process, deadline: float) -> None:
        """Wait until every process of ``process`` ran its startup, and a server answers."""
        expected = WORKER_PROCESSES if process is self.worker else 1
        who = f"{process.name:<10}  {process.framework:<11}  pid {process.pid:<7}"
        while True:
            runs = [run for run in report.load(self.events) if run.label == process.name]
            ready = [run for run in runs if run.ready_at() is not None]
            if len(ready) == expected and (process.port is None or self.answers(process)):
                break
            status = process.exit_status()
            if status is not None:
                # Its hooks say why, below; else (it never ran a hook) its output does.
                say(f"  {who}  exited with status {status} before it was ready")
                why = "its startup failed" if runs else f"\n{process.tail()}"
                raise DemoError(f"{process.name} ({process.framework}) exited: {why}")
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{process.name} ({process.framework}) was not ready within "
                    f"{START_TIMEOUT:.0f} s\n{process.tail()}"
                )
            time.sleep(0.05)
        after = max(run.ready_at() or 0.0 for run in ready) - process.spawned
        if process is self.worker:
            what = f"{expected} pool processes, taking tasks"
        elif process is self.beat:
            what = "sends shop.stock_report every second"
        else:
            what = f"serving at {process.url}"
        say(f"  {who}  {what}, ready after {after:.1f} s")

    def answers(self, process: Process) -> bool:
        """Whether a web process answers its health check."""
        try:
            return httpx.get(f"{process.url}/health/ready", timeout=2.0).status_code == 200
        except httpx.TransportError:
            return False

    def probe(self, process: Process) -> str:
        """What the readiness probe of a process answers now, as one line."""
        if process is self.worker:
            ready, why = readiness(self.data / "worker-health")
            return f"python -m asgi_lifecycle_celery.probe  exit {0 if ready else 1}  {why}"
        if process.port is None:
            return "no probe (beat serves nothing); its states are below"
        try:
            response = httpx.get(f"{process.url}/health/ready", timeout=2.0)
        except httpx.TransportError as exc:
            return f"GET /health/ready  no answer ({type(exc).__name__}: the port is closed)"
        return f"GET /health/ready  {response.status_code}  {response.json()['status']}"

    def wait_worker_unready(self) -> None:
        """After SIGTERM: wait until the worker's probe fails, as its tasks in flight finish."""
        # The web servers close their ports at once; the worker's probe reads files, so it
        # can be asked while the worker drains.
        sent = self.worker.terminated or time.time()
        deadline = time.monotonic() + STOP_TIMEOUT
        while (ready := readiness(self.data / "worker-health"))[0]:
            if time.monotonic() > deadline or self.worker.exit_status() is not None:
                self.problems.append(f"the worker's probe still said ready: {ready[1]}")
                return
            time.sleep(0.01)
        after = time.time() - sent
        say(f"  worker's probe {after:+.2f} s after SIGTERM: exit 1  {ready[1]}")

    def probe_all(self, processes: list[Process], when: str) -> None:
        """Print what every process's readiness probe answers now."""
        say(f"readiness probes, {when}")
        for process in processes:
            say(f"  {process.name:<10}  {self.probe(process)}")

    def request(
        self, client: httpx.Client, process: Process, method: str, path: str, **options: Any
    ) -> httpx.Response:
        """Make one request to a process; fail unless it succeeds."""
        response = client.request(method, f"{process.url}{path}", **options)
        if not response.is_success:
            raise DemoError(
                f"{method} {process.name} {path}: {response.status_code} {response.text[:300]}\n"
                f"{process.tail()}"
            )
        return response

    def show(self, process: Process, response: httpx.Response, what: str) -> None:
        """Print one request and what its answer says."""
        method, path = response.request.method, response.request.url.path
        self.requests += 1
        say(f"  {method:<4} {process.name:<10} {path:<12} {response.status_code}  {what}")

    def exercise(self) -> None:
        """Make the requests, place an order, and wait for the tasks' results."""
        say("requests")
        with httpx.Client(timeout=5.0) as client:
            for process in (self.storefront, self.api, self.inventory):
                response = self.request(client, process, "GET", "/whoami")
                health = response.json()
                what = f"service type {health['service_type']!r}, pid {health['pid']}"
                self.show(process, response, what)
            page = self.request(client, self.storefront, "GET", "/")
            names = [name for _, name, _, _ in store.PRODUCTS]
            self.show(
                self.storefront, page, f"a page of {sum(n in page.text for n in names)} products"
            )
            if not all(name in page.text for name in names):
                raise DemoError(f"the storefront does not list every product: {page.text[:300]}")
            response = self.request(client, self.api, "GET", "/products")
            skus = ", ".join(product["sku"] for product in response.json())
            self.show(self.api, response, f"from the catalogue: {skus}")
            order = {"sku": "mug", "quantity": 2}
            in_stock = next(stock for sku, _, _, stock in store.PRODUCTS if sku == "mug")
            response = self.request(client, self.api, "POST", "/orders", json=order)
            placed = response.json()
            self.show(self.api, response, f"order {placed['id']}: 2 mugs, {placed['status']}")
            done = self.wait_order(client, int(placed["id"]))
            response = self.request(client, self.inventory, "GET", "/stock")
            left = response.json()["mug"]
            self.show(self.inventory, response, f"mugs in stock: {left}")
            if left != in_stock - 2:
                raise DemoError(f"the worker's reservation did not reach the inventory: {left}")
            metrics = self.request(client, self.api, "GET", "/metrics").text
        reporter, units = self.wait_report()
        say()
        self.show_metrics(metrics)
        say("tasks")
        say(
            f"  shop.fulfil_order({done['id']})  {done['status']} by worker process "
            f"{done['handled_by']}, the mugs reserved at the inventory API"
        )
        say(
            f"  shop.stock_report     sent by beat every second, run by worker process "
            f"{reporter}: {units} units in stock"
        )
        say()

    def show_metrics(self, text: str) -> None:
        """Print a few lines of the orders API's /metrics: its state, readiness, startup."""
        wanted = [  # a metric, and labels its line must have (they come sorted by name)
            ("asgi_lifecycle_state{", 'state="ready"'),
            ("asgi_lifecycle_ready{", ""),
            ("asgi_lifecycle_phase_duration_seconds_sum{", 'phase="startup"'),
            ("asgi_lifecycle_hook_duration_seconds_sum{", 'check_inventory"'),
        ]
        lines = [
            line
            for name, label in wanted
            for line in text.splitlines()
            if line.startswith(name) and label in line
        ]
        say("metrics: GET api /metrics (PrometheusListener, added in lifecycle.py), a few lines")
        for line in lines:
            say(f"  {line}")
        say()
        if 'asgi_lifecycle_ready{service_type="api"} 1.0' not in lines:
            raise DemoError(f"the orders API's /metrics does not say it is ready:\n{text[:600]}")

    def wait_order(self, client: httpx.Client, order_id: int) -> dict[str, Any]:
        """Ask the orders API until a worker has handled the order."""
        deadline = time.monotonic() + TASK_TIMEOUT
        while True:
            response = self.request(client, self.api, "GET", f"/orders/{order_id}")
            order: dict[str, Any] = response.json()
            if order["status"] != "queued":
                break
            self.check_celery_running()
            if time.monotonic() > deadline:
                raise DemoError(f"no worker handled order {order_id} within {TASK_TIMEOUT:.0f} s")
            time.sleep(0.1)
        self.tasks += 1
        self.show(self.api, response, f"{order['status']} by worker process {order['handled_by']}")
        if order["status"] != "confirmed":
            raise DemoError(f"order {order_id} was not confirmed: {order}")
        return order

    def wait_report(self) -> tuple[int, int]:
        """Wait for the next stock report that beat sends every second and a worker runs."""
        deadline = time.monotonic() + TASK_TIMEOUT
        db = store.Database.open(self.database)
        try:
            earlier = len(db.reports())  # made before the order: the stock was different
            while len(reports := db.reports()) <= earlier:
                self.check_celery_running()
                if time.monotonic() > deadline:
                    raise DemoError(f"no stock report ran within {TASK_TIMEOUT:.0f} s")
                time.sleep(0.1)
        finally:
            db.close()
        self.tasks += 1
        return reports[-1]

    def check_celery_running(self) -> None:
        """Fail at once, rather than at a timeout, when the worker or beat stopped."""
        for process in (self.worker, self.beat):
            status = process.exit_status()
            if status is not None:
                raise DemoError(
                    f"{process.name} ({process.framework}) exited with status {status}\n"
                    f"{process.tail()}"
                )

    def serve_until_interrupted(self) -> None:
        """Leave everything running until Ctrl-C or SIGTERM."""
        say("the shop is running:")
        say(f"  storefront (Django)    {self.storefront.url}/")
        say(f"  orders API (FastAPI)   {self.api.url}/docs")
        say(f"  inventory (Litestar)   {self.inventory.url}/stock")
        say(f"  database               {self.database}")
        say("press Ctrl-C to stop it")
        try:
            while True:
                for process in self.processes:
                    status = process.exit_status()
                    if status is not None:
                        raise DemoError(f"{process.name} exited with status {status}")
                time.sleep(0.5)
        except Interrupted:
            say()

    def stop(self) -> None:
        """Stop every process with SIGTERM, side by side, and check that each stopped cleanly."""
        started = [p for p in self.processes if p.popen is not None]
        running = [p for p in started if p.exit_status() is None]
        if running:
            self.probe_all(running, "before SIGTERM")
            say()
            say("stopping every process with SIGTERM")
        for process in running:
            process.terminate()
        if self.worker in running:
            self.wait_worker_unready()
        for process in started:
            was_running = process in running
            status = process.wait(STOP_TIMEOUT)
            if status is None:
                self.problems.append(f"{process.name} did not stop within {STOP_TIMEOUT:.0f} s")
                process.kill()
                continue
            if not was_running:
                continue  # it had stopped on its own: reported already
            clean = status in process.clean
            say(f"  {process.name:<10} exit status {status:>3}  {'clean' if clean else 'FAILED'}")
            if not clean:
                self.problems.append(
                    f"{process.name} exited with status {status}\n{process.tail()}"
                )
        if self.worker in running:
            say(f"  worker's probe, after its exit: {self.probe(self.worker)}")
        say()

    # -- what ran where ----------------------------------------------------------------------

    def title(self, run: report.ProcessRun) -> str:
        """How a process is named above its hooks."""
        framework = next((p.framework for p in self.processes if p.name == run.label), "?")
        if run.celery == "pool-child":
            framework = "Celery pool process"
        return f"{run.label} ({framework}, service type {run.service_type!r}, pid {run.pid})"

    def summarize(self) -> None:
        """Print the hooks of every process and the timelines; check what the hooks did."""
        order = [process.name for process in self.processes]
        runs = sorted(
            report.load(self.events),
            key=lambda run: (order.index(run.label) if run.label in order else 99, run.pid),
        )
        say("hooks, per process and phase, in the order they started")
        say("(p0, p1, p2: the phases; p∞, p-∞: the Django adapter's own, after or before all)")
        say()
        for line in report.tables(runs, self.title):
            say(line)
        say("startup timelines: one bar per hook, from its start to its end; the hooks of a")
        say("phase start together, a phase starts when the one before it has finished")
        say()
        for line in report.hook_timeline(runs, self.title):
            say(line)
        spawned = {process.name: process.spawned for process in self.processes}
        rows = [
            (f"{run.label} {run.pid}", spawned[run.label], run.ready_at())
            for run in runs
            if run.label in spawned
        ]
        say("the processes on one clock: from being started (Python, the framework, the app)")
        say("to the end of their startup hooks")
        for line in report.process_timeline(rows):
            say(line)
        say()
        stopped_at = {p.name: p.terminated for p in self.processes if p.terminated is not None}
        if stopped_at:
            say("health before, during and after SIGTERM: the states each process went through")
            say("(what its probes answer: 503 but for ready), in seconds from its SIGTERM")
            for line in report.health_lines(runs, self.title, stopped_at):
                say(line)
            say()
        self.check_states(runs, stopped_at)
        self.check_hooks(runs)
        if self.problems:
            say("the demo FAILED:")
            for problem in self.problems:
                say(f"  - {problem}")
            if self.options.break_ == "readiness":
                say()
                say("(--break readiness: that failure is the point. The orders API refused to")
                say("serve without its dependency and rolled back what it had started.)")
        else:
            say(
                f"ok: {len(runs)} processes ran their hooks from one module, answered "
                f"{self.requests} requests, ran {self.tasks} tasks and stopped cleanly"
            )

    def check_states(self, runs: list[report.ProcessRun], stopped_at: dict[str, float]) -> None:
        """A process sent SIGTERM while ready went ready, then draining, then stopped."""
        for run in runs:
            sigterm = stopped_at.get(run.label)
            if sigterm is None:
                continue
            before = [state for state, at in run.states() if at < sigterm]
            after = [state for state, at in run.states() if at >= sigterm]
            if before[-1:] == ["ready"] and after != ["draining", "stopped"]:
                self.problems.append(
                    f"{run.label} pid {run.pid}: after SIGTERM its states were {after}, "
                    "expected draining then stopped"
                )

    def check_hooks(self, runs: list[report.ProcessRun]) -> None:
        """Every process that started ran its startup and its shutdown, every hook ok."""
        for process in self.processes:
            if process.popen is None:
                continue
            mine = [run for run in runs if run.label == process.name]
            expected = WORKER_PROCESSES if process is self.worker else 1
            if len(mine) != expected:
                self.problems.append(
                    f"{process.name}: {len(mine)} processes recorded hooks, expected {expected}"
                )
            for run in mine:
                who = f"{process.name} pid {run.pid}"
                if not run.ran("startup"):
                    self.problems.append(f"{who} recorded no startup")
                elif not run.ok("startup"):
                    failed = run.failed("startup")
                    cause = next((e for e in failed if e["outcome"] != "cancelled"), failed[0])
                    undone = ", ".join(report.short(e["hook"]) for e in run.hooks("rollback"))
                    self.problems.append(
                        f"{who} refused to start: {report.short(cause['hook'])} "
                        f"{cause['outcome']} ({cause['error']}); rolled back: {undone or 'none'}"
                    )
                elif not run.ran("shutdown"):
                    self.problems.append(f"{who} recorded no shutdown")
                elif not run.ok("shutdown"):
                    failed = run.failed("shutdown")
                    names = ", ".join(report.short(e["hook"]) for e in failed)
                    self.problems.append(f"{who}: shutdown hooks failed: {names}")


def main(argv: list[str] | None = None) -> int:
    """Parse the options and run the demo."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the servers up until Ctrl-C"
    )
    parser.add_argument(
        "--break",
        dest="break_",
        choices=["readiness"],
        help="readiness: do not start the inventory service; the orders API refuses to start",
    )
    parser.add_argument(
        "--broker", metavar="URL", help="a Redis or RabbitMQ URL for Celery (default: a folder)"
    )
    options = parser.parse_args(argv)

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    with tempfile.TemporaryDirectory(prefix="asgi-lifecycle-shop-") as folder:
        demo = Demo(options, Path(folder))
        try:
            return demo.run()
        finally:
            for process in demo.processes:  # whatever is left after a failure or a second ^C
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
