"""The lifespans running in this process, and how tasks reach them."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

from asgi_lifecycle import BlockingRunner, LifespanContext

__all__ = ("Role", "active", "current_context", "register", "run", "stop_all", "unregister")

T = TypeVar("T")
Role = Literal["worker", "beat", "supervisor"]

logger = logging.getLogger("asgi_lifecycle.celery")

_lock = threading.Lock()
_runners: dict[Role, BlockingRunner] = {}
_atexit_registered = False

# Tasks see the worker's run; beat code (a custom scheduler) sees beat's.
_TASK_ROLES: tuple[Role, ...] = ("worker", "beat")
# The supervisor's run started first, so it stops last.
_STOP_ORDER: tuple[Role, ...] = ("worker", "beat", "supervisor")

_NOT_RUNNING = (
    "no asgi-lifecycle lifespan is running in this process (pid {pid}). In a Celery worker "
    "or beat, call asgi_lifecycle_celery.install(app) in the module that defines the Celery "
    "app, so that every worker process imports it, and call {what} from a task, not at "
    "import time. In a test or a script, run the code inside "
    "'with asgi_lifecycle_celery.in_process(app):'."
)


def register(role: Role, runner: BlockingRunner) -> None:
    """Make ``runner`` this process's lifespan for ``role``."""
    global _atexit_registered
    with _lock:
        _runners[role] = runner
        if not _atexit_registered:
            # Celery's cold shutdown (SIGQUIT) never sends worker_shutdown: stop what is
            # left at interpreter exit. The runner's loop thread is a daemon, so it is
            # still there when atexit runs.
            atexit.register(stop_all)
            _atexit_registered = True


def unregister(role: Role, runner: BlockingRunner) -> None:
    """Forget ``runner`` if it is still this process's lifespan for ``role``."""
    with _lock:
        if _runners.get(role) is runner:
            del _runners[role]


def active(role: Role) -> BlockingRunner | None:
    """Return this process's running lifespan for ``role``, if any."""
    with _lock:
        return _runners.get(role)


def stop_all() -> None:
    """Stop every lifespan still running in this process, the supervisor's last."""
    for role in _STOP_ORDER:
        runner = active(role)
        if runner is None:
            continue
        unregister(role, runner)
        if runner.running:
            logger.info(
                "stopping the %r lifespan at interpreter exit (Celery sent no shutdown signal)",
                runner.context.service_type,
            )
            runner.stop()


def _task_runner() -> BlockingRunner | None:
    with _lock:
        for role in _TASK_ROLES:
            runner = _runners.get(role)
            if runner is not None and runner.running:
                return runner
    return None


def current_context() -> LifespanContext:
    """Return the context of the lifespan running in this process.

    In a task this is the worker's context: ``current_context().state`` holds
    what the resources published at startup, in this very process (a prefork
    child has its own). In beat it is the scheduler's context.

    Returns:
        The running `LifespanContext`.

    Raises:
        RuntimeError: no lifespan is running in this process; the message says
            how to fix that.
    """
    runner = _task_runner()
    if runner is None:
        raise RuntimeError(_NOT_RUNNING.format(pid=os.getpid(), what="current_context()"))
    return runner.context


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run a coroutine on this process's lifespan loop and return its result.

    The loop is the one the async startup hooks ran on, so clients they made
    (HTTP sessions, connection pools) work here. Call it from a task (any
    thread but the loop's own)::

        @app.task
        def fetch(url):
            client = current_context().state["http"]
            return run(client.get(url)).status_code

    Args:
        coro: The coroutine to run.
        timeout: Seconds to wait; the coroutine is cancelled when they run out.

    Returns:
        The coroutine's result.

    Raises:
        RuntimeError: no lifespan is running in this process, or this is the
            loop's own thread.
        TimeoutError: the coroutine did not finish within ``timeout``.
    """
    runner = _task_runner()
    if runner is None:
        coro.close()
        raise RuntimeError(_NOT_RUNNING.format(pid=os.getpid(), what="run()"))
    return runner.call(coro, timeout)


def _forget_after_fork() -> None:
    # A forked child inherits the parent's runners but not their loop threads: they
    # are not this process's lifespans (and the inherited lock may be held).
    global _lock
    _lock = threading.Lock()
    _runners.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
