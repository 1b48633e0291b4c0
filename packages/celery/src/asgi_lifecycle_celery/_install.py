"""Mapping the lifespan onto Celery's worker and beat signals."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import threading
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from billiard.process import current_process
from celery import Celery, bootsteps, signals

from asgi_lifecycle import (
    BlockingRunner,
    Lifespan,
    LifespanContext,
    discover,
    lifespan,
    load_settings,
)

from ._health import HealthFile
from ._process import Role, active, register, unregister

__all__ = ("in_process", "install")

logger = logging.getLogger("asgi_lifecycle.celery")

#: The exit status of a worker or beat whose critical startup hook failed.
EX_FAILURE = 1

# What a pool child needs on top of our hooks before it reports for work: Celery's own
# child set-up (logging, tracers). Celery's default limit, which covers just that.
_CELERY_CHILD_SETUP = 4.0

# The exit status of a pool child whose startup failed. The pool (in the worker's main
# process) starts no child in its place: a child started instead would run the same
# hooks against the same unreachable dependency, again and again until the worker
# stops. 69 is EX_UNAVAILABLE of sysexits.h; billiard gives meaning only to 0, 1 and 155.
_CHILD_STARTUP_FAILED = 69

# At most this much of a failed child's error goes back to the main process, in one
# write to a pipe (writes of up to PIPE_BUF bytes are never interleaved with others).
_REPORT_LIMIT = select.PIPE_BUF

# A pool child whose startup failed tells the supervising process with this signal.
# Celery leaves it free (only its remote debugger takes it, when CELERY_RDBSIG is set).
_CHILD_FAILED = signal.SIGUSR2

# Tells pool children started with "spawn" (fresh interpreters, which inherit no
# memory) which worker they belong to and how to tell it that their startup failed.
_WORKER_VARIABLE = "ASGI_LIFECYCLE_CELERY_WORKER"

_installations: weakref.WeakKeyDictionary[Celery, _Installation] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Settings:
    service_type: str
    beat_service_type: str
    environment: str | None
    config: Mapping[str, Any] | None
    lifespan: Lifespan
    supervisor: Lifespan | None
    health_file: str | None = None


class _Installation:
    """One app's adapter: its settings and what it knows of the current worker."""

    def __init__(self, app: Celery, settings: _Settings) -> None:
        self.app = app
        self.settings = settings
        # Set in the worker's main process, before any pool child exists; forked
        # children inherit them.
        self.main_pid: int | None = None
        self.prefork = False
        self.pool = "unknown"
        self.hostname: str | None = None
        self.notify_signal: int = signal.SIGTERM
        self.child_failed = False
        # Forked pool children write their failed startup's error here (spawned ones
        # inherit no descriptor and only exit with _CHILD_STARTUP_FAILED).
        self.failure_pipe: tuple[int, int] | None = None
        self.failures: dict[str, list[int]] = {}
        # Re-entrant: the signal handler reads the pipe too, in the main thread.
        self.failures_lock = threading.RLock()
        self.respawns_held = False
        self.resignalled = False
        self.billiard_pool: Any = None

    # -- contexts and runners -----------------------------------------------------

    def context(self, service_type: str, process: str, hostname: str | None) -> LifespanContext:
        settings = self.settings
        metadata: dict[str, Any] = {
            "celery.app": self.app.main,
            "celery.process": process,
            "celery.hostname": hostname,
        }
        if process != "beat":
            metadata["celery.pool"] = self.pool
        return LifespanContext(
            service_type,
            environment=settings.environment,
            config=settings.config,
            metadata=metadata,
        )

    def start(
        self, role: Role, lifespan: Lifespan, context: LifespanContext, where: str, then: str
    ) -> BlockingRunner:
        """Start a runner and make it this process's lifespan for ``role``.

        Raises:
            SystemExit: a critical hook failed (after its rollback); the error is logged.
        """
        runner = lifespan.run_blocking(context)
        try:
            runner.start()
        except Exception as exc:
            logger.critical(
                "asgi_lifecycle_celery: the %r startup failed in %s (pid %d); %s with exit "
                "status %d rather than run without its resources: %s",
                context.service_type, where, os.getpid(), then, EX_FAILURE, exc,
            )  # fmt: skip
            raise SystemExit(EX_FAILURE) from exc
        register(role, runner)
        return runner

    def stop(self, role: Role) -> None:
        runner = active(role)
        if runner is not None:
            unregister(role, runner)
            runner.stop()

    def tell_supervisor(self) -> None:
        """From a child of the worker (pool child, embedded beat): make the worker stop."""
        if self.main_pid is not None and os.getppid() == self.main_pid:
            os.kill(self.main_pid, self.notify_signal)

    def report_failure(self, error: BaseException | None) -> None:
        """From a forked pool child: hand the failed startup's error to the main process."""
        if self.failure_pipe is None or error is None:
            return
        text = str(error)
        while True:
            line = json.dumps({"pid": os.getpid(), "error": text}).encode() + b"\n"
            if len(line) <= _REPORT_LIMIT or not text:
                break
            text = text[: len(text) // 2]
        try:
            os.write(self.failure_pipe[1], line)
        except OSError:  # a full or closed pipe: the child's own log line still has it
            logger.debug("asgi_lifecycle_celery: could not report the failure to the worker")

    def reported_failures(self) -> dict[str, list[int]]:
        """In the main process: each error that failed children reported, with their pids."""
        with self.failures_lock:
            if self.failure_pipe is not None:
                chunks = []
                while True:
                    try:
                        chunk = os.read(self.failure_pipe[0], 65536)
                    except OSError:  # BlockingIOError: nothing more for now
                        break
                    if not chunk:
                        break
                    chunks.append(chunk)
                for line in b"".join(chunks).splitlines():
                    try:
                        report = json.loads(line)
                        self.failures.setdefault(str(report["error"]), []).append(report["pid"])
                    except (ValueError, KeyError, TypeError):
                        continue
            return {error: list(pids) for error, pids in self.failures.items()}

    def close_failure_pipe(self) -> None:
        with self.failures_lock:
            if self.failure_pipe is not None:
                for fd in self.failure_pipe:
                    os.close(fd)
                self.failure_pipe = None

    def describe_failures(self) -> str:
        failures = self.reported_failures()
        if not failures:
            return "the child logged the hook and its error above"
        return "; ".join(
            f"{error} (pid {', '.join(map(str, pids))})" for error, pids in failures.items()
        )

    # -- the worker's main process ------------------------------------------------

    def on_worker_create(self, worker: Any) -> None:
        """In the worker's main process, after logging is set up and before any pool exists."""
        from celery import concurrency
        from celery.concurrency.prefork import TaskPool as PreforkPool

        pool_cls = worker.pool_cls
        if not isinstance(pool_cls, type):
            pool_cls = concurrency.get_implementation(pool_cls)
        path = f"{pool_cls.__module__}:{pool_cls.__qualname__}"
        # The CLI hands over the class: name it by its alias ("prefork", "threads").
        aliases: dict[str, str] = getattr(concurrency, "ALIASES", {})
        self.pool = next((alias for alias, p in aliases.items() if p == path), path)
        self.prefork = isinstance(pool_cls, type) and issubclass(pool_cls, PreforkPool)
        self.main_pid = os.getpid()
        self.hostname = worker.hostname
        self.child_failed = False
        self.respawns_held = False
        self.resignalled = False
        self.billiard_pool = None
        self.failures = {}
        self._watch_children()
        if self.prefork:
            self._fit_child_start_limit(worker)
            self.close_failure_pipe()
            read, write = os.pipe()
            os.set_blocking(read, False)
            os.set_blocking(write, False)
            self.failure_pipe = (read, write)
            os.environ[_WORKER_VARIABLE] = json.dumps(
                {"app": self.app.main, "pid": self.main_pid, "signal": int(self.notify_signal),
                 "pool": self.pool, "hostname": self.hostname}
            )  # fmt: skip
        settings = self.settings
        if settings.supervisor is not None:
            context = self.context(settings.service_type, "supervisor", self.hostname)
            self.start("supervisor", settings.supervisor, context, "the worker", "the worker stops")
        if not self.prefork:
            context = self.context(settings.service_type, "worker", self.hostname)
            try:
                self.start("worker", settings.lifespan, context, "the worker", "the worker stops")
            except SystemExit:
                self.stop("supervisor")
                raise

    def on_pool_started(self, worker: Any) -> None:
        """In the worker's main process, once the pool has forked its first children.

        billiard starts a child in place of every child that exits, at once and with
        no limit that applies here; a child whose startup failed would be replaced by
        one that runs the same hooks and fails the same way. The pool's own
        `_repopulate_pool` (the one place where it starts replacements) is wrapped so
        that it starts none once a child failed its startup.
        """
        if not self.prefork:
            return
        pool = getattr(worker.pool, "_pool", None)
        repopulate = getattr(pool, "_repopulate_pool", None)
        if pool is None or repopulate is None:
            logger.warning(
                "asgi_lifecycle_celery: this billiard release has no Pool._repopulate_pool; "
                "a pool child whose startup fails is replaced until the worker has stopped"
            )
            return

        def repopulate_unless_failed(exitcodes: list[int | None]) -> None:
            if _CHILD_STARTUP_FAILED in exitcodes:
                self.on_child_failed()
                if self.notify_signal == _CHILD_FAILED and not self.respawns_held:
                    # Once more, in case the child's own signal came while the main
                    # thread was busy: it now most likely waits for messages.
                    self.resignalled = True
                    os.kill(os.getpid(), _CHILD_FAILED)
            if self.child_failed:
                self.hold_respawns()
                return
            repopulate(exitcodes)

        pool._repopulate_pool = repopulate_unless_failed
        self.billiard_pool = pool

    def on_pool_stopping(self) -> None:
        """In the main process, just before the pool is closed and joined."""
        if self.child_failed:
            self.forget_unrunnable_jobs()

    def forget_unrunnable_jobs(self) -> None:
        """Drop the jobs that no child will run: every child left failed its startup.

        The warm shutdown's join waits for every job handed to the pool, and billiard
        gives up only 5 s after its last child has gone. No child took these (a child
        that failed its startup never reads a job), so their messages were not
        acknowledged: the consumer gives them back to the broker as it stops.
        """
        pool = self.billiard_pool
        if pool is None:
            return
        failed = {pid for pids in self.reported_failures().values() for pid in pids}
        if not failed or not {process.pid for process in list(pool._pool)} <= failed:
            return
        cache = pool._cache
        for key, job in list(cache.items()):
            if not getattr(job, "_accepted", True):
                cache.pop(key, None)

    def on_child_failed(self) -> None:
        """In the main process: a pool child failed its startup; stop the worker."""
        from celery.worker import state

        self.child_failed = True
        # Celery's own shutdown handlers stop the worker the same way.
        setattr(state, "should_stop", EX_FAILURE)  # noqa: B010  # the stubs type it None

    def hold_respawns(self) -> None:
        if self.respawns_held:
            return
        self.respawns_held = True
        logger.critical(
            "asgi_lifecycle_celery: a critical startup hook failed in a child of the worker: "
            "%s; the pool starts no child in place of one that exits, and the worker stops "
            "with exit status %d",
            self.describe_failures(), EX_FAILURE,
        )  # fmt: skip

    def _watch_children(self) -> None:
        def on_child_failed(signum: int, frame: FrameType | None) -> None:
            if os.getpid() != self.main_pid:
                return  # a child that inherited the handler
            self.on_child_failed()
            if self.resignalled:
                self.resignalled = False
            else:
                self.forget_unrunnable_jobs()
            if _waiting_for_messages(frame):
                # The consumer looks at the flag only between two waits of 2 s, and
                # waits once more after it saw it: stop the wait now instead, as if
                # it had raised. Nothing is in hand there (a message is handed over
                # in the frames that the wait calls, not in its own).
                from celery.exceptions import WorkerShutdown

                raise WorkerShutdown(EX_FAILURE)

        if os.environ.get("CELERY_RDBSIG"):
            logger.warning(
                "asgi_lifecycle_celery: CELERY_RDBSIG is set, so Celery's remote debugger "
                "takes SIGUSR2; a pool child whose startup fails stops the worker with "
                "SIGTERM instead, and the exit status is then 0"
            )
            self.notify_signal = signal.SIGTERM
            return
        try:
            signal.signal(_CHILD_FAILED, on_child_failed)
        except ValueError:  # not the main thread: an embedded worker
            logger.warning(
                "asgi_lifecycle_celery: the worker is not in the main thread, so no signal "
                "handler can be installed; a pool child whose startup fails stops the "
                "worker with SIGTERM instead, and the exit status is then 0"
            )
            self.notify_signal = signal.SIGTERM
            return
        self.notify_signal = _CHILD_FAILED

    def _fit_child_start_limit(self, worker: Any) -> None:
        conf = self.app.conf
        current = float(conf.worker_proc_alive_timeout)
        budget = self._startup_budget()
        if budget is None:
            if worker.use_eventloop:
                logger.warning(
                    "asgi_lifecycle_celery: the lifespan has no startup_timeout (and not every "
                    "startup hook has a timeout), so Celery's limit on a pool child's start "
                    "(worker_proc_alive_timeout = %g s) cannot be fitted to it: a child whose "
                    "startup hooks take longer is killed and replaced, again and again. Set "
                    "Lifespan(startup_timeout=...) and the adapter raises the limit to fit, or "
                    "raise worker_proc_alive_timeout yourself.",
                    current,
                )
            return
        needed = budget + _CELERY_CHILD_SETUP
        if needed > current:
            conf.worker_proc_alive_timeout = needed
            logger.info(
                "asgi_lifecycle_celery: raised worker_proc_alive_timeout from %g s to %g s: a "
                "pool child may spend the startup budget (%g s) in its hooks, plus Celery's "
                "own child set-up",
                current, needed, budget,
            )  # fmt: skip

    def _startup_budget(self) -> float | None:
        """The longest a pool child's startup can take, or ``None`` if nothing bounds it."""
        registry = self.settings.lifespan
        startup_timeout, default = registry.startup_timeout, registry.timeout
        if registry is lifespan:
            # The process-wide lifespan applies [tool.asgi-lifecycle] and ASGI_LIFECYCLE_*
            # at a child's first startup, after the fork: read what it will find, and import
            # the hook modules the file names, so that their hooks count here too.
            try:
                configured = load_settings().for_service(self.settings.service_type)
                if configured.configured:
                    discover(configured)
            except Exception:  # reported where it matters: at the child's startup
                return None
            if configured.configured:
                if startup_timeout is None:
                    startup_timeout = configured.startup_timeout
                if default is None:
                    default = configured.timeout
        if startup_timeout is not None:
            return startup_timeout
        try:
            environment = self.context(self.settings.service_type, "worker", None).environment
            plan = registry.plan(self.settings.service_type, environment)
        except Exception:  # reported where it matters: at the child's startup
            return None
        timeouts = [
            default if hook.timeout is None else hook.timeout
            for hook in plan
            if hook.kind != "shutdown"
        ]
        if any(timeout is None for timeout in timeouts):
            return None
        # Without a budget of its own the startup takes at most the sum of its hooks'.
        return float(sum(t for t in timeouts if t is not None))

    def on_worker_shutdown(self, worker: Any) -> None:
        if os.getpid() != self.main_pid:
            return
        self.stop("worker")
        self.stop("supervisor")
        if self.child_failed:
            worker.exitcode = EX_FAILURE
            logger.critical(
                "asgi_lifecycle_celery: stopped the worker (exit status %d) because a critical "
                "startup hook failed in a child of the worker: %s",
                EX_FAILURE, self.describe_failures(),
            )  # fmt: skip
        self.close_failure_pipe()

    # -- pool children --------------------------------------------------------------

    def serves_this_child(self) -> bool:
        if current_process().name == "MainProcess":
            return False  # the solo pool sends worker_process_init in the main process
        if self.main_pid is not None:
            return True  # forked from the worker that this installation prepared
        # Started with "spawn": a fresh interpreter, told by its environment.
        try:
            worker = json.loads(os.environ[_WORKER_VARIABLE])
        except (KeyError, ValueError):
            return False
        if worker.get("app") != self.app.main or worker.get("pid") != os.getppid():
            return False
        self.main_pid = worker["pid"]
        self.notify_signal = worker["signal"]
        self.pool = worker["pool"]
        self.hostname = worker["hostname"]
        self.prefork = True
        return True

    def on_child_init(self, hostname: str | None) -> None:
        context = self.context(self.settings.service_type, "pool-child", hostname)
        try:
            self.start(
                "worker",
                self.settings.lifespan,
                context,
                "a pool child",
                "the child exits and the worker stops",
            )
        except SystemExit as failed:
            # The error first, so that it is there when the signal makes the worker stop.
            self.report_failure(failed.__cause__)
            self.tell_supervisor()
            raise SystemExit(_CHILD_STARTUP_FAILED) from failed.__cause__

    # -- beat -------------------------------------------------------------------------

    def on_beat_init(self, service: Any) -> None:
        embedded = current_process().name != "MainProcess"
        context = self.context(self.settings.beat_service_type, "beat", None)
        try:
            self.start("beat", self.settings.lifespan, context, "beat", "beat stops")
        except SystemExit:
            if embedded:
                self.tell_supervisor()
            raise
        # Beat has no shutdown signal. Service.sync() is its last act, on every way
        # out (SIGTERM, Ctrl-C, the embedded process being stopped); the SIGTERM handler
        # also calls it early, from inside the handler, before the loop has ended.
        original = service.sync
        shutting_down = getattr(service, "_is_shutdown", None)

        def sync() -> None:
            try:
                original()
            finally:
                if shutting_down is None or shutting_down.is_set():
                    self.stop("beat")

        service.sync = sync


class _LifecycleStep(bootsteps.Step):
    """Runs the main process's startup while the worker is being built.

    At that point logging is set up, no pool child exists yet and no task has
    been received.
    """

    name = "asgi_lifecycle_celery.Lifecycle"
    label = "asgi-lifecycle"

    def create(self, parent: Any) -> None:
        installation = _installations.get(parent.app)
        if installation is not None:
            installation.on_worker_create(parent)


def _waiting_for_messages(frame: FrameType | None) -> bool:
    """Whether the main thread was interrupted in kombu's wait for messages.

    That is the polling transports' ``drain_events`` (filesystem, memory, SQS,
    SQLAlchemy, ...), in its own frame: sleeping between two polls.
    """
    try:
        from kombu.transport.virtual.base import Transport
    except ImportError:  # pragma: no cover - kombu comes with celery
        return False
    drain_events = getattr(Transport, "drain_events", None)
    code = getattr(drain_events, "__code__", None)
    return frame is not None and code is not None and frame.f_code is code


class _PoolStep(bootsteps.StartStopStep):
    """Holds the pool's replacements back once a child failed its startup.

    Started right after the pool (which forks the first children as it starts),
    before the consumer: billiard's supervisor first looks at the children 0.8 s
    after the pool started, and the hub only once the consumer runs.
    """

    name = "asgi_lifecycle_celery.Pool"
    label = "asgi-lifecycle pool"
    requires = ("celery.worker.components:Pool",)

    def start(self, parent: Any) -> None:
        installation = _installations.get(parent.app)
        if installation is not None:
            installation.on_pool_started(parent)

    def stop(self, parent: Any) -> None:
        # Stopped before the pool is, being started after it.
        installation = _installations.get(parent.app)
        if installation is not None:
            installation.on_pool_stopping()


def _connect(installation: _Installation) -> None:
    app = installation.app

    def on_worker_process_init(sender: Any = None, **kwargs: Any) -> None:
        if installation.serves_this_child():
            installation.on_child_init(sender)

    def on_worker_process_shutdown(sender: Any = None, **kwargs: Any) -> None:
        installation.stop("worker")

    def on_worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
        if getattr(sender, "app", None) is app:
            installation.on_worker_shutdown(sender)

    def on_beat_init(sender: Any = None, **kwargs: Any) -> None:
        if getattr(sender, "app", None) is app:
            installation.on_beat_init(sender)

    uid = f"asgi_lifecycle_celery:{id(app)}"
    signals.worker_process_init.connect(on_worker_process_init, weak=False, dispatch_uid=uid)
    signals.worker_process_shutdown.connect(
        on_worker_process_shutdown, weak=False, dispatch_uid=uid
    )
    signals.worker_shutdown.connect(on_worker_shutdown, weak=False, dispatch_uid=uid)
    signals.beat_init.connect(on_beat_init, weak=False, dispatch_uid=uid)
    app.steps["worker"].add(_LifecycleStep)
    app.steps["worker"].add(_PoolStep)


def install(
    celery_app: Celery,
    *,
    service_type: str = "worker",
    beat_service_type: str = "scheduler",
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
    lifespan: Lifespan = lifespan,
    supervisor: Lifespan | None = None,
    health_file: str | os.PathLike[str] | None = None,
) -> None:
    """Run the lifespan's hooks in every process of this app's workers and beat.

    Call it once, in the module that defines the Celery app, so that every
    worker and beat process imports it. The hooks then run where the tasks run:

    - prefork: in every pool child, after it is forked (and again in each
      child that replaces a recycled or lost one); nothing starts in the
      supervising process before the fork;
    - solo, threads, gevent, eventlet: in the worker's one process;
    - beat: in the beat process, with ``beat_service_type``.

    Each of those processes keeps one event loop alive from startup to shutdown;
    tasks reach it with `run` and the state with `current_context`. A critical
    startup hook that fails stops the worker (or beat) with exit status 1; in a
    prefork worker the pool starts no child in place of the one that failed.

    Args:
        celery_app: The Celery app.
        service_type: The service type of worker processes.
        beat_service_type: The service type of the beat process.
        environment: The environment (default: ``$ASGI_LIFECYCLE_ENV``, then
            ``"development"``).
        config: Settings handed to the hooks as ``context.config``.
        lifespan: The `Lifespan` whose hooks run (default: the process-wide one).
        supervisor: A `Lifespan` whose hooks run once per worker, in its main
            (supervising) process, before the pool starts and after it stopped.
            In a prefork worker that process forks every child, so what these
            hooks open is inherited by every child, and the loop thread they
            need makes the supervisor a threaded process that forks: keep them
            to one-off work and let pool children open their own connections.
        health_file: Keep a readiness file for ``python -m asgi_lifecycle_celery.probe
            <health_file>``: each worker process writes ``<health_file>.<pid>`` while
            it is ready and removes it when not; see ``asgi_lifecycle_celery.probe``.

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: the app was already installed with other settings.
    """
    if not isinstance(celery_app, Celery):
        raise TypeError(
            f"asgi_lifecycle_celery.install() needs the Celery app (celery.Celery), "
            f"got {type(celery_app).__name__}"
        )
    for label, value in (("service_type", service_type), ("beat_service_type", beat_service_type)):
        if not isinstance(value, str) or not value:
            raise TypeError(
                f"asgi_lifecycle_celery.install({label}=...) must be a non-empty string "
                f"such as 'worker' or 'scheduler', got {value!r}"
            )
    if environment is not None and (not isinstance(environment, str) or not environment):
        raise TypeError(
            "asgi_lifecycle_celery.install(environment=...) must be a non-empty string, or "
            f"None to read $ASGI_LIFECYCLE_ENV, got {environment!r}"
        )
    if config is not None and not isinstance(config, Mapping):
        raise TypeError(
            f"asgi_lifecycle_celery.install(config=...) must be a mapping, got "
            f"{type(config).__name__}"
        )
    for label, registry in (("lifespan", lifespan), ("supervisor", supervisor)):
        if registry is not None and not isinstance(registry, Lifespan):
            raise TypeError(
                f"asgi_lifecycle_celery.install({label}=...) must be an "
                f"asgi_lifecycle.Lifespan, got {type(registry).__name__}"
            )
    if supervisor is not None and supervisor is lifespan:
        raise ValueError(
            "asgi_lifecycle_celery.install(supervisor=...) must be a Lifespan of its own: its "
            "hooks run once in the worker's main process, the lifespan's in every pool child"
        )
    health = None
    if health_file is not None:
        health = HealthFile(celery_app, lifespan, health_file, service_type=service_type)
    settings = _Settings(
        service_type, beat_service_type, environment, config, lifespan, supervisor,
        None if health is None else str(health.path),
    )  # fmt: skip
    existing = _installations.get(celery_app)
    if existing is not None:
        if existing.settings == settings:
            logger.info(
                "asgi_lifecycle_celery is already installed on Celery app %r; nothing to do",
                celery_app.main,
            )
            return
        raise ValueError(
            f"asgi_lifecycle_celery is already installed on Celery app {celery_app.main!r} "
            f"with other settings ({_describe(existing.settings)}); call install() once per "
            f"app, with all its settings"
        )
    installation = _Installation(celery_app, settings)
    _installations[celery_app] = installation
    _connect(installation)
    if health is not None:
        health.install()


def _describe(settings: _Settings) -> str:
    return (
        f"service_type={settings.service_type!r}, "
        f"beat_service_type={settings.beat_service_type!r}, "
        f"environment={settings.environment!r}, config={settings.config!r}, "
        f"lifespan={settings.lifespan!r}, supervisor={settings.supervisor!r}, "
        f"health_file={settings.health_file!r}"
    )


@contextmanager
def in_process(celery_app: Celery, *, beat: bool = False) -> Iterator[LifespanContext]:
    """Run this app's worker (or beat) lifespan in the current process, for tests and scripts.

    Inside the block `current_context` and `run` work as in a worker process,
    so tasks called directly or with ``task.apply()`` see the state::

        with asgi_lifecycle_celery.in_process(app) as context:
            assert add.apply(args=(1, 2)).get() == 3

    Args:
        celery_app: An app given to `install`.
        beat: Run beat's service type instead of the worker's.

    Yields:
        The running `LifespanContext`.

    Raises:
        StartupFailed: a critical startup hook failed (after its rollback).
        RuntimeError: the app is not installed, or this process already runs it.
    """
    installation = _installations.get(celery_app)
    if installation is None:
        raise RuntimeError(
            f"Celery app {getattr(celery_app, 'main', celery_app)!r} has no asgi-lifecycle "
            f"installed: call asgi_lifecycle_celery.install(app) first"
        )
    role: Role = "beat" if beat else "worker"
    if active(role) is not None:
        raise RuntimeError(
            f"a {role} lifespan is already running in this process (pid {os.getpid()}); "
            f"in_process() cannot start a second one"
        )
    settings = installation.settings
    service_type = settings.beat_service_type if beat else settings.service_type
    context = installation.context(service_type, "beat" if beat else "in-process", None)
    with settings.lifespan.run_blocking(context) as runner:
        register(role, runner)
        try:
            yield runner.context
        finally:
            unregister(role, runner)
