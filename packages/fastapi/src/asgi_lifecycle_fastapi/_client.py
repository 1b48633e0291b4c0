"""A test client that runs the app's lifespan, so that hooks run and state reaches requests."""

from __future__ import annotations

import asyncio
import importlib
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from asgi_lifecycle import LifecycleError, LifespanContext
from asgi_lifecycle.types import ASGIApp, Message, Receive, Scope, Send

from ._context import context_from_state

if TYPE_CHECKING:
    import httpx
    from starlette.testclient import TestClient

__all__ = ("LifespanClient",)

logger = logging.getLogger("asgi_lifecycle.fastapi")


def _needs_httpx(exc: Exception) -> ModuleNotFoundError:
    return ModuleNotFoundError(
        f"asgi_lifecycle_fastapi.LifespanClient needs httpx (or httpx2), as Starlette's "
        f"TestClient does: pip install httpx ({exc})"
    )


def _import_httpx() -> Any:
    # httpx2 is httpx's successor (newer Starlette's TestClient prefers it); same API.
    try:
        return importlib.import_module("httpx")
    except ImportError as exc:
        try:
            return importlib.import_module("httpx2")
        except ImportError:
            raise _needs_httpx(exc) from exc


class LifespanClient:
    """A test client for a FastAPI or Starlette app, with its lifespan run and its state present.

    ``with LifespanClient(app) as client`` gives Starlette's (and FastAPI's)
    ``TestClient``, already inside its ``with``, so the hooks have run (a bare
    ``TestClient(app)`` never runs the lifespan). ``async with
    LifespanClient(app) as client`` gives an ``httpx.AsyncClient`` on the current
    event loop: the lifespan runs on that loop through the ASGI lifespan protocol
    (httpx's ``ASGITransport`` never sends it), and every request gets a copy of
    the lifespan state, as a server gives it. Leaving the block shuts the app
    down; a failed startup raises the app's own error (`StartupFailed` for a hook).

    Args:
        app: The ASGI application (a FastAPI or Starlette app).
        base_url: The base URL of the requests.
        **client_options: Passed on to ``TestClient`` or ``httpx.AsyncClient``.
    """

    def __init__(
        self, app: ASGIApp, *, base_url: str = "http://testserver", **client_options: Any
    ) -> None:
        if not callable(app):
            raise TypeError(f"LifespanClient(app) needs an ASGI application, got {app!r}")
        self.app = app
        self.base_url = base_url
        self.client_options = client_options
        self._state: dict[str, Any] | None = None
        self._sync: TestClient | None = None
        self._async: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()

    @property
    def state(self) -> dict[str, Any]:
        """The lifespan state the app published (requests get a shallow copy of it)."""
        if self._state is None:
            raise LifecycleError("LifespanClient.state is only there inside its with block")
        return self._state

    @property
    def context(self) -> LifespanContext:
        """The `LifespanContext` of the run, as handlers get it."""
        return context_from_state(self.state, self.app)

    # -- with: Starlette's TestClient --------------------------------------------------

    def __enter__(self) -> TestClient:
        if self._sync is not None or self._task is not None:
            raise LifecycleError("this LifespanClient is already in use; make one per with block")
        try:
            from starlette.testclient import TestClient
        except (ImportError, RuntimeError) as exc:  # RuntimeError: Starlette's "needs httpx"
            raise _needs_httpx(exc) from exc
        client = TestClient(self.app, base_url=self.base_url, **self.client_options)
        client.__enter__()
        self._sync = client
        self._state = client.app_state
        return client

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        client, self._sync = self._sync, None
        self._state = None
        if client is not None:
            client.__exit__(exc_type, exc, traceback)

    # -- async with: httpx.AsyncClient -------------------------------------------------

    async def __aenter__(self) -> httpx.AsyncClient:
        if self._sync is not None or self._task is not None:
            raise LifecycleError("this LifespanClient is already in use; make one per with block")
        client_lib = _import_httpx()
        state: dict[str, Any] = {}
        scope: Scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": state,
        }
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        receive: Receive = self._to_app.get
        send: Send = self._from_app.put
        task = self._task = asyncio.ensure_future(self.app(scope, receive, send))
        try:
            await self._to_app.put({"type": "lifespan.startup"})
            answer = await self._answer("lifespan.startup")
            if answer["type"] == "lifespan.startup.failed":
                await task  # Starlette re-raises the startup error: it surfaces here
                raise LifecycleError(f"the application's startup failed: {answer.get('message')}")
        except BaseException:
            await self._end_task()
            raise
        self._state = state
        transport = client_lib.ASGITransport(app=cast(Any, self._serve))
        client = client_lib.AsyncClient(
            transport=transport, base_url=self.base_url, **self.client_options
        )
        self._async = cast("httpx.AsyncClient", await client.__aenter__())
        return self._async

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        client, self._async = self._async, None
        try:
            if client is not None:
                await client.__aexit__(exc_type, exc, traceback)
        finally:
            try:
                await self._shutdown()
            except Exception:
                if exc is None:
                    raise
                # The block's own error is the one to see; the shutdown's is logged.
                logger.exception("the application's shutdown failed too")

    async def _shutdown(self) -> None:
        task = self._task
        if task is None:
            return
        try:
            await self._to_app.put({"type": "lifespan.shutdown"})
            answer = await self._answer("lifespan.shutdown")
            await task
            if answer["type"] == "lifespan.shutdown.failed":
                raise LifecycleError(f"the application's shutdown failed: {answer.get('message')}")
        finally:
            await self._end_task()

    async def _answer(self, phase: str) -> Message:
        """The app's answer to a phase; if the app returns first, its error or a clear one."""
        assert self._task is not None
        answer = asyncio.ensure_future(self._from_app.get())
        try:
            await asyncio.wait({answer, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not answer.done():
                answer.cancel()
        if answer.done() and not answer.cancelled():
            return answer.result()
        self._task.result()  # re-raises the app's error, if it raised one
        raise LifecycleError(
            f"the application returned without answering {phase}: it does not support the "
            f"ASGI lifespan protocol"
        )

    async def _end_task(self) -> None:
        task, self._task = self._task, None
        self._state = None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self._state is not None:
            scope["state"] = dict(self._state)  # servers copy it per request; so does this
        await self.app(scope, receive, send)
