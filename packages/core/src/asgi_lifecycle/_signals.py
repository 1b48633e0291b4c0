"""Seeing the stop signals (SIGTERM, SIGINT) while a lifespan runs, without taking them over.

A server installs its own handlers for the stop signals; during a startup it
only notes the signal and acts once the startup is over, however long that
takes. `StopWatch` chains a handler in front of the server's for a while: it
calls ours, then the server's, so the server still does exactly what it would
have done; and it puts the server's handler back when the while is over, unless
somebody else replaced ours meanwhile. Only the main thread can set signal
handlers, so it does nothing elsewhere.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

try:
    # The C functions under signal.signal(), without its conversions to enums, which format
    # an error message (with the repr of the handler, a task's under asyncio.run) for each
    # handler that is no enum member: this makes a run's watch several times cheaper.
    import _signal  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - an interpreter without CPython's _signal
    _signal = signal
_getsignal: Callable[[int], Any] = _signal.getsignal
_setsignal: Callable[[int, Any], Any] = _signal.signal

__all__ = ("STOP_SIGNALS", "StopWatch", "leave_stop_signals_to_the_main_thread", "signal_name")

logger = logging.getLogger("asgi_lifecycle")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
"""The signals that ask a process to stop: a supervisor's SIGTERM, a terminal's Ctrl-C."""


def leave_stop_signals_to_the_main_thread() -> None:
    """Block the stop signals in the calling thread, and so in the threads it starts.

    Python runs signal handlers in the main thread only. A signal the kernel hands to
    another thread is noted there, but it does not interrupt what the main thread is
    blocked in (a lock, a sleep), so the handler waits until that returns: under a WSGI
    worker, a SIGTERM could flip readiness only once the request in flight ended. The
    core's own threads (the blocking runner's loop, the probe server) call this first.
    """
    if threading.current_thread() is not threading.main_thread():
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15, and so on."""
    try:
        return signal.Signals(signum).name
    except ValueError:  # pragma: no cover - only stop signals are watched
        return f"signal {signum}"


class StopWatch:
    """Calls ``on_stop(signum)`` for each stop signal, then the handler that was there.

    A signal whose handler is ``SIG_IGN`` stays ignored. One whose handler is
    ``SIG_DFL`` (nobody handles it: a plain script) is delivered again with its
    default effect when the watch ends, after ``on_stop`` had its say, so that a
    SIGTERM still ends the process, only later.

    Args:
        on_stop: Called in the main thread, between two bytecodes of whatever
            runs there: it must only note the signal or schedule work
            (``loop.call_soon_threadsafe``), never block.
        defer_default: For a signal nobody handles (``SIG_DFL``): deliver it again
            when the watch ends (True: a startup rolls back first), or at once, so
            that it ends the process as it would have (False). It can be changed
            while the watch runs.
    """

    def __init__(self, on_stop: Callable[[int], object], *, defer_default: bool = True) -> None:
        self._on_stop = on_stop
        self.defer_default = defer_default
        self._previous: dict[int, Any] = {}
        self._deferred: list[int] = []

    @property
    def active(self) -> bool:
        """Whether the watch has a handler installed."""
        return bool(self._previous)

    def install(self) -> bool:
        """Chain the handlers; return whether it could (only the main thread can)."""
        if self._previous:
            return True
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in STOP_SIGNALS:
            try:
                previous = _getsignal(signum)
                if previous is None or previous == signal.SIG_IGN:
                    continue  # set outside Python, or ignored on purpose: left alone
                _setsignal(signum, self._handle)
            except (ValueError, OSError):  # pragma: no cover - not the main interpreter
                continue
            self._previous[signum] = previous
        return bool(self._previous)

    def restore(self) -> None:
        """Put the previous handlers back (where ours is still the one installed)."""
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            try:
                if _getsignal(signum) == self._handle:
                    _setsignal(signum, handler)
            except (ValueError, OSError):  # pragma: no cover - not the main thread any more
                logger.debug("could not restore the %s handler", signal_name(signum))
        deferred, self._deferred = self._deferred, []
        for signum in deferred:
            signal.raise_signal(signum)  # its default effect, now that on_stop has acted

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        try:
            self._on_stop(signum)
        except Exception:  # pragma: no cover - on_stop only schedules work
            logger.exception("handling %s failed", signal_name(signum))
        previous = self._previous.get(signum, signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            if not self.defer_default:
                self.restore()  # the default effect now, as if nobody had watched
                signal.raise_signal(signum)
            elif signum not in self._deferred:
                self._deferred.append(signum)
