"""Django's WSGI handler, running the hooks once per process."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from types import FrameType
from typing import Any

import django
from django.core.handlers.wsgi import WSGIHandler

from asgi_lifecycle import BlockingRunner, LifecycleReport, Lifespan

from ._entry import prepare
from ._hooks import sync_runner
from ._middleware import CONTEXT_KEY, LIFESPAN_KEY, STATE_KEY

__all__ = ("LifecycleWSGIHandler", "get_wsgi_application")

logger = logging.getLogger("asgi_lifecycle_django")


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwind the main thread instead of running the shutdown inside the handler, where a
    # lock the interrupted code holds (logging's) could deadlock it; atexit runs it.
    sys.exit(0)


def _at_exit(callback: Callable[[], object]) -> None:
    """Call ``callback`` when the interpreter exits, while thread pools still take work.

    Thread pools (asgiref's, which runs the sync hooks) refuse work once interpreter
    shutdown begins, before `atexit` callbacks run; threading's own exit callbacks run
    before that, so they are used when this Python has them.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # pragma: no cover - every supported Python has it
        atexit.register(callback)
    else:
        register(callback)


def _install_sigterm_handler() -> None:
    """Turn SIGTERM into a normal exit (so atexit runs), unless someone else handles it."""
    if threading.current_thread() is not threading.main_thread():
        # runserver's autoreloader runs the server in a thread and handles SIGTERM itself.
        return
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


class LifecycleWSGIHandler(WSGIHandler):
    """Django's `WSGIHandler` that runs the startup hooks when it is created.

    WSGI servers never send lifespan, so the hooks run here, once per process:
    the startup when the server loads the application (before the first
    request), the shutdown at interpreter exit, on SIGTERM (when nobody else
    handles it; ``runserver``'s autoreloader and gunicorn's workers turn SIGTERM
    into an exit themselves) or when `close` is called. Async hooks and async
    resources live on one event loop of their own, in a thread, for the whole
    run (`BlockingRunner`); sync hooks run through asgiref.

    Each request gets a shallow copy of the run's state (``request.state`` with
    `LifecycleMiddleware`), as ASGI servers do.

    Args:
        lifespan: The hook registry to run (default: the process-wide one).
        service_type: Overrides ``ASGI_LIFECYCLE["SERVICE_TYPE"]``.
        environment: Overrides ``ASGI_LIFECYCLE["ENVIRONMENT"]``.
        config: Overrides ``ASGI_LIFECYCLE["CONFIG"]``.

    Attributes:
        context: The run's `LifespanContext`.
        runner: The `BlockingRunner` (``runner.call(coro)`` runs a coroutine on
            the run's loop, from a sync view).

    Raises:
        StartupFailed: a critical hook failed (everything was rolled back).
        ImproperlyConfigured: a hook module does not import, or
            ``"asgi_lifecycle_django"`` is not in ``INSTALLED_APPS``.
    """

    def __init__(
        self,
        *,
        lifespan: Lifespan | None = None,
        service_type: str | None = None,
        environment: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.lifespan, self.context = prepare(lifespan, service_type, environment, config)
        super().__init__()
        self.runner: BlockingRunner = self.lifespan.run_blocking(
            self.context, sync_runner=sync_runner
        )
        self._lock = threading.Lock()
        self._closed = False
        self._refused = False
        # Before the start: the runner's stop watch then chains to this handler, so a
        # SIGTERM after the startup still becomes an exit that runs the shutdown.
        _install_sigterm_handler()
        self.runner.start()
        self._pid = os.getpid()
        _at_exit(self.close)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """Serve one request, with the run's state and context in ``environ``."""
        if self._pid != os.getpid():
            self._refuse_forked()
        environ[STATE_KEY] = dict(self.context.state)
        environ[CONTEXT_KEY] = self.context
        environ[LIFESPAN_KEY] = self.lifespan
        response: Iterable[bytes] = super().__call__(environ, start_response)
        return response

    def _refuse_forked(self) -> None:
        message = (
            f"asgi-lifecycle ran the startup hooks in process {self._pid}, before this worker "
            f"process ({os.getpid()}) was forked from it (gunicorn --preload?): resources made "
            "before a fork (connections, event loops, threads) do not work in the child. Load "
            "the application in each worker (drop --preload)."
        )
        if not self._refused:
            self._refused = True
            logger.error(message)
        raise RuntimeError(message)

    def close(self) -> LifecycleReport | None:
        """Run the shutdown hooks, once; later calls return ``None``.

        Called at interpreter exit; call it yourself to stop earlier.
        """
        with self._lock:
            if self._closed:
                return None
            self._closed = True
        if self._pid != os.getpid():
            # The runner's loop thread did not survive the fork; the parent shuts it down.
            return None
        return self.runner.stop()


def get_wsgi_application(
    *,
    lifespan: Lifespan | None = None,
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> LifecycleWSGIHandler:
    """Set Django up, run the startup hooks, and return its WSGI application.

    Use it in ``wsgi.py`` (and point ``WSGI_APPLICATION`` at it, so that
    ``runserver`` uses it too) instead of `django.core.wsgi.get_wsgi_application`.
    The arguments override ``settings.ASGI_LIFECYCLE``; see `LifecycleWSGIHandler`.

    Raises:
        StartupFailed: a critical hook failed (everything was rolled back).
        ImproperlyConfigured: a hook module does not import, or
            ``"asgi_lifecycle_django"`` is not in ``INSTALLED_APPS``.
    """
    django.setup(set_prefix=False)
    return LifecycleWSGIHandler(
        lifespan=lifespan, service_type=service_type, environment=environment, config=config
    )
