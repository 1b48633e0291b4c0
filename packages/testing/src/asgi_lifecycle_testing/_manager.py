"""Run any ASGI app's lifespan in-process, without a server: `LifespanManager`."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any, Literal, TypeAlias

from asgi_lifecycle.types import ASGIApp, Message, Receive, Scope, Send

from ._harness import NativeFailure, NativeShutdownFailure, NativeStartupFailure

__all__ = (
    "LifespanManager",
    "LifespanNotSupported",
    "LifespanProtocolError",
    "LifespanShutdownFailed",
    "LifespanStartupFailed",
)

_Item = tuple[Literal["message", "error", "exit", "parked"], Any]


class LifespanNotSupported(Exception):
    """The app does not speak the ASGI lifespan protocol.

    It raised, returned or sent a message before its first ``receive()``, as
    apps without lifespan support do (Django's stock handler raises
    ``ValueError``). Pass ``tolerate_unsupported=True`` to run such apps anyway.
    """


class LifespanProtocolError(Exception):
    """The app broke the ASGI lifespan protocol (a message out of turn, a phase never answered)."""


class LifespanStartupFailed(NativeStartupFailure):
    """The app answered ``lifespan.startup.failed``.

    When the app also raised an exception (Starlette, FastAPI and
    asgi-lifecycle re-raise after sending the message), the error raised is the
    app's own, made a `LifespanStartupFailed` too: it is an instance of a
    subclass of both the app's exception class and this one, with the app's
    arguments, attributes, traceback and notes. So ``pytest.raises(MyError)``
    (what asgi-lifespan users wrote) and ``pytest.raises(LifespanStartupFailed)``
    both match, and so does the contract suite's `NativeStartupFailure`.
    ``app_error`` is then the app's exception object itself. Where the app only
    sent the message, or raised something that cannot be combined (a
    ``BaseException`` that is not an ``Exception``), the error is a plain
    `LifespanStartupFailed` with ``app_error`` as its ``__cause__``.

    Attributes:
        message: The ``message`` of the event (Starlette and asgi-lifecycle put
            the traceback there).
        app_error: The exception the app raised after sending it, or ``None``
            if it returned quietly (which servers in ``--lifespan auto`` mode
            mistake for "lifespan unsupported").
    """

    def __init__(self, message: str, app_error: BaseException | None = None) -> None:
        super().__init__(message, channel="lifespan.startup.failed")
        self.app_error = app_error


class LifespanShutdownFailed(NativeShutdownFailure):
    """The app answered ``lifespan.shutdown.failed``.

    As with `LifespanStartupFailed`, when the app also raised, the error raised
    is the app's own exception made a `LifespanShutdownFailed` too, so both
    ``pytest.raises(MyError)`` and ``pytest.raises(LifespanShutdownFailed)``
    match.

    Attributes:
        message: The ``message`` of the event.
        app_error: The exception the app raised after sending it, or ``None``.
    """

    def __init__(self, message: str, app_error: BaseException | None = None) -> None:
        super().__init__(message, channel="lifespan.shutdown.failed")
        self.app_error = app_error


_Failed: TypeAlias = LifespanStartupFailed | LifespanShutdownFailed
# (the app's exception class, the manager's failure class) -> the class that is both
_COMBINED: dict[tuple[type[BaseException], type[_Failed]], type[_Failed]] = {}


def _failure(
    kind: type[_Failed],
    message: str,
    app_error: BaseException | None,
) -> BaseException:
    """Return the error for an app that answered ``...failed`` (see `LifespanStartupFailed`)."""
    plain = kind(message, app_error)
    if app_error is None:
        return plain
    plain.__cause__ = app_error
    original = type(app_error)
    # An exception group's `message` is its own, read-only: `pytest.raises` users match
    # groups with `ExceptionGroup` and `.exceptions`, which the cause still offers.
    if not isinstance(app_error, Exception) or isinstance(
        app_error, (NativeFailure, BaseExceptionGroup)
    ):
        return plain
    combined = _COMBINED.get((original, kind))
    try:
        if combined is None:
            combined = type(
                original.__name__,
                (original, kind),
                {"__module__": original.__module__, "__qualname__": original.__qualname__},
            )
            _COMBINED[(original, kind)] = combined
        error = combined.__new__(combined, *app_error.args)
        error.__dict__.update(app_error.__dict__)
    except Exception:  # a final class, a layout conflict, a __new__ of its own
        return plain
    if "__notes__" in app_error.__dict__:  # a copy: the note below is not the app's
        error.__notes__ = list(app_error.__notes__)
    error.args = app_error.args
    error.message = message
    error.channel = plain.channel
    error.app_error = app_error
    error.__cause__ = app_error.__cause__
    error.__context__ = app_error.__context__
    error.__suppress_context__ = app_error.__suppress_context__
    error.__traceback__ = app_error.__traceback__
    error.add_note(
        f"(the app answered {plain.channel} and raised this error: LifespanManager raises it "
        f"as both {original.__name__} and {kind.__name__}; the message is its .message, "
        f"the app's own exception object its .app_error)"
    )
    return error


def _check_timeout(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TypeError(
            f"LifespanManager({name}=...) must be a number of seconds above 0, or None for no "
            f"limit; got {value!r}"
        )
    return float(value)


class _Cycle:
    """One lifespan cycle of the app: one task, one scope, its messages in and out."""

    def __init__(self, app: ASGIApp, state: dict[str, Any]) -> None:
        self.app = app
        self.scope: Scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": state,
        }
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[_Item] = asyncio.Queue()
        self.received = 0
        self.phase: Literal["startup", "shutdown"] = "startup"
        self.answer: str | None = None  # the answer to the phase in progress, once sent
        self.supported = True
        self.aborting = False  # once cancelled, whatever the app still sends is moot
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.main(), name="lifespan-app")

    async def main(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError as exc:
            self.outbox.put_nowait(("exit", exc))
            raise
        except BaseException as exc:
            self.outbox.put_nowait(("exit", exc))
        else:
            self.outbox.put_nowait(("exit", None))

    async def receive(self) -> Message:
        if self.received == 0:
            self.received = 1
            return {"type": "lifespan.startup"}
        if self.answer is None:
            error = LifespanProtocolError(
                f"the app called receive() again before answering lifespan.{self.phase}: "
                f"it must send lifespan.{self.phase}.complete or .failed first"
            )
            self.outbox.put_nowait(("error", error))
            raise error
        if self.phase == "startup" and self.answer == "lifespan.startup.complete":
            self.received += 1
            message = await self.inbox.get()
            self.phase, self.answer = "shutdown", None
            return message
        # No message will ever come again: wait to be cancelled, and say so.
        self.outbox.put_nowait(("parked", None))
        await asyncio.Event().wait()
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, message: Message) -> None:
        kind = str(message.get("type"))
        if self.aborting:
            return
        if self.received == 0:
            raise LifespanNotSupported(
                f"the app sent {kind!r} before its first receive() on the lifespan scope"
            )
        expected = (f"lifespan.{self.phase}.complete", f"lifespan.{self.phase}.failed")
        if self.answer is not None or kind not in expected:
            where = (
                f"after it had answered lifespan.{self.phase} with {self.answer!r}"
                if self.answer is not None
                else f"in answer to lifespan.{self.phase} (expected {' or '.join(expected)})"
            )
            error = LifespanProtocolError(f"the app sent {kind!r} {where}")
            self.outbox.put_nowait(("error", error))
            raise error
        self.answer = kind
        self.outbox.put_nowait(("message", dict(message)))

    async def next_item(self, deadline: float | None, what: str, timeout: float | None) -> _Item:
        loop = asyncio.get_running_loop()
        remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
        try:
            return await asyncio.wait_for(self.outbox.get(), remaining)
        except TimeoutError:
            await self.abort(None)
            raise TimeoutError(
                f"the app did not answer {what} within {timeout:g} s (LifespanManager's "
                f"{what.split('.')[-1]}_timeout)"
            ) from None

    async def finish(self, deadline: float | None) -> BaseException | None:
        """Wait for the app to end after its last answer; return what it raised."""
        loop = asyncio.get_running_loop()
        while True:
            remaining = None if deadline is None else max(deadline - loop.time(), 0.0)
            try:
                kind, value = await asyncio.wait_for(self.outbox.get(), remaining)
            except TimeoutError:
                await self.abort(None)
                return None
            if kind == "exit":
                await self.reap()
                return None if isinstance(value, asyncio.CancelledError) else value
            if kind == "parked":
                await self.abort(None)
                return None
            if kind == "error":
                await self.abort(None)
                raise value

    async def reap(self) -> None:
        if self.task is not None and self.task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def abort(self, timeout: float | None) -> None:
        """Cancel the app's task and wait for it to end."""
        task = self.task
        if task is None:
            return
        self.aborting = True
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=timeout)
        if task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def cancel(self, timeout: float | None) -> BaseException | None:
        """Cancel the app's task without a shutdown; return what it raised other than that."""
        await self.abort(timeout)
        raised = None
        while not self.outbox.empty():
            kind, value = self.outbox.get_nowait()
            if kind == "exit" and not isinstance(value, asyncio.CancelledError):
                raised = value
        return raised

    async def startup(self, timeout: float | None, tolerate: bool) -> None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        kind, value = await self.next_item(deadline, "lifespan.startup", timeout)
        if kind == "message":
            if value["type"] == "lifespan.startup.complete":
                return
            app_error = await self.finish(deadline)
            raise _failure(LifespanStartupFailed, str(value.get("message") or ""), app_error)
        if kind == "error":
            await self.abort(timeout)
            raise value
        if kind == "exit":
            await self.reap()
            if self.received == 0 and (value is None or isinstance(value, Exception)):
                if tolerate:
                    self.supported = False
                    return
                how = "returned" if value is None else f"raised {type(value).__name__}: {value}"
                raise LifespanNotSupported(
                    f"the app does not support the ASGI lifespan protocol: it {how} before its "
                    f"first receive(). Pass LifespanManager(..., tolerate_unsupported=True) to "
                    f"run it without lifespan"
                ) from value
            if value is None:
                raise LifespanProtocolError(
                    "the app's lifespan returned without answering lifespan.startup"
                )
            value.add_note(
                "(the app raised during lifespan startup without sending lifespan.startup.failed)"
            )
            raise value
        raise AssertionError(f"unexpected {kind}")  # pragma: no cover

    async def shutdown(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        if not self.outbox.empty():
            kind, value = self.outbox.get_nowait()
            await self.abort(timeout)
            if kind == "exit" and value is None:
                raise LifespanProtocolError(
                    "the app's lifespan returned after lifespan.startup.complete, before "
                    "lifespan.shutdown arrived: it must keep running until then, or servers "
                    "never deliver its shutdown"
                )
            if kind == "exit" and isinstance(value, BaseException):
                value.add_note("(raised by the app's lifespan while serving, after startup)")
            raise value
        self.inbox.put_nowait({"type": "lifespan.shutdown"})
        kind, value = await self.next_item(deadline, "lifespan.shutdown", timeout)
        if kind == "message":
            app_error = await self.finish(deadline)
            if value["type"] == "lifespan.shutdown.failed":
                message = str(value.get("message") or "")
                raise _failure(LifespanShutdownFailed, message, app_error)
            if app_error is not None:
                raise app_error
            return
        if kind == "error":
            await self.abort(timeout)
            raise value
        await self.reap()
        if value is None:
            raise LifespanProtocolError(
                "the app's lifespan returned without answering lifespan.shutdown"
            )
        value.add_note(
            "(the app raised during lifespan shutdown without sending lifespan.shutdown.failed)"
        )
        raise value


class LifespanManager:
    """Runs an ASGI app's lifespan in-process, without a server, for tests.

    ``async with LifespanManager(app) as manager:`` sends ``lifespan.startup``
    and waits for the answer; leaving the block sends ``lifespan.shutdown`` and
    waits again. Use ``manager.app`` for requests (for example with
    ``httpx.ASGITransport(app=manager.app)``): it hands each request a shallow
    copy of the lifespan state, as servers do. asyncio only.

    Args:
        app: The ASGI application.
        startup_timeout: Seconds to wait for the startup answer, or ``None``.
        shutdown_timeout: Seconds to wait for the shutdown answer, or ``None``.
        tolerate_unsupported: Run apps without lifespan support (the app fails
            or returns before its first ``receive()``) instead of raising
            `LifespanNotSupported`; ``supported`` is then ``False``.
        shutdown_on_error: What happens when the ``async with`` block raises.
            ``True`` (the default): the app's shutdown runs (``lifespan.shutdown``
            is sent and answered) before the block's error propagates, as a
            server shuts an app down whatever happened while it served; a failed
            shutdown is added to the block's error as a note. ``False``:
            asgi-lifespan's behaviour exactly: no ``lifespan.shutdown`` is sent,
            the app's lifespan task is cancelled, and if the app raises while
            being cancelled (Starlette runs its shutdown handlers on
            cancellation) that error replaces the block's.

    Attributes:
        app: The app to send requests to: the wrapped app, with the lifespan
            state copied into each ``http`` and ``websocket`` scope.
        state: The lifespan state of the current (or last) cycle: what the app
            published in ``scope["state"]`` at startup.
        supported: Whether the app answered the lifespan protocol (``None``
            before the first startup).

    Raises:
        LifespanStartupFailed: on entry, the app answered ``lifespan.startup.failed``
            (if it also raised, the error is the app's own exception, made a
            `LifespanStartupFailed` too, so ``pytest.raises(TheAppsError)`` matches).
        LifespanShutdownFailed: on exit, the app answered ``lifespan.shutdown.failed``
            (the same: the app's own exception, made a `LifespanShutdownFailed`).
        LifespanNotSupported: on entry, the app has no lifespan support.
        LifespanProtocolError: the app sent a message out of turn, answered twice,
            or returned without answering.
        TimeoutError: the app did not answer in time (it is then cancelled).
    """

    def __init__(
        self,
        app: ASGIApp,
        startup_timeout: float | None = 5,
        shutdown_timeout: float | None = 5,
        *,
        tolerate_unsupported: bool = False,
        shutdown_on_error: bool = True,
    ) -> None:
        if not callable(app):
            raise TypeError(f"LifespanManager(app) needs an ASGI application, got {app!r}")
        self.startup_timeout = _check_timeout("startup_timeout", startup_timeout)
        self.shutdown_timeout = _check_timeout("shutdown_timeout", shutdown_timeout)
        self.tolerate_unsupported = bool(tolerate_unsupported)
        if not isinstance(shutdown_on_error, bool):
            raise TypeError(
                f"LifespanManager(shutdown_on_error=...) must be True (shut the app down when "
                f"the block raises) or False (cancel it, as asgi-lifespan does); got "
                f"{shutdown_on_error!r}"
            )
        self.shutdown_on_error = shutdown_on_error
        self.state: dict[str, Any] = {}
        self.supported: bool | None = None
        self._inner = app
        self._cycle: _Cycle | None = None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection with the wrapped app, with a copy of the lifespan state."""
        if scope["type"] in ("http", "websocket"):
            scope["state"] = dict(self.state)
        await self._inner(scope, receive, send)

    async def __aenter__(self) -> LifespanManager:
        if self._cycle is not None:
            raise RuntimeError(
                "this LifespanManager is already running; leave its 'async with' block "
                "before entering it again"
            )
        self.state = {}
        self.supported = None
        cycle = _Cycle(self._inner, self.state)
        self._cycle = cycle
        cycle.start()
        try:
            await cycle.startup(self.startup_timeout, self.tolerate_unsupported)
        except BaseException:
            self._cycle = None
            await cycle.abort(self.shutdown_timeout)
            raise
        self.supported = cycle.supported
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        cycle, self._cycle = self._cycle, None
        if cycle is None or not cycle.supported:
            return
        if exc is not None and not isinstance(exc, Exception):
            # Cancelled or interrupted: no polite shutdown, stop the app's task.
            await cycle.abort(self.shutdown_timeout)
            return
        if exc is not None and not self.shutdown_on_error:
            app_error = await cycle.cancel(self.shutdown_timeout)
            if app_error is not None:
                app_error.add_note(
                    f"(raised by the app's lifespan when LifespanManager cancelled it, without "
                    f"a shutdown, after the block raised {type(exc).__name__}: "
                    f"shutdown_on_error=False)"
                )
                raise app_error
            return
        try:
            await cycle.shutdown(self.shutdown_timeout)
        except Exception as error:
            if exc is None:
                raise
            exc.add_note(f"then the lifespan shutdown failed too: {type(error).__name__}: {error}")
