"""A test client that runs a Litestar app's lifespan, hooks included."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from litestar.testing import AsyncTestClient, TestClient

from asgi_lifecycle import LifecycleError, LifespanContext

from ._plugin import LifecyclePlugin, get_context

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = ("LifespanClient",)


class LifespanClient:
    """Litestar's test clients, entered, with the app's own errors raised plainly.

    ``with LifespanClient(app) as client`` gives Litestar's ``TestClient`` and
    ``async with LifespanClient(app) as client`` its ``AsyncTestClient``, already
    entered, so the startup hooks have run (a client used without ``with`` never
    runs the lifespan). Leaving the block shuts the app down. Compared with
    entering those clients directly:

    - a failed startup raises the app's own error (`asgi_lifecycle.StartupFailed`
      for a hook), and a failed shutdown the `asgi_lifecycle.LifecycleError`
      naming the hooks, not the exception groups of Litestar's task groups;
    - when the block raised, its exception wins over a failed shutdown (which
      is still logged);
    - `context` and `state` give the running context and its published state.

    Both Litestar clients serve the app on an event loop of their own, in another
    thread (``AsyncTestClient`` too: its requests block the caller's loop), so
    use an async resource from the test through ``client.blocking_portal.call``.

    Args:
        app: A Litestar app created with a `LifecyclePlugin`.
        **client_options: Passed on to ``TestClient`` / ``AsyncTestClient``
            (``base_url``, ``raise_server_exceptions``, ``session_config``...).

    Raises:
        LifecycleError: ``app`` has no `LifecyclePlugin`.
    """

    def __init__(self, app: Litestar, **client_options: Any) -> None:
        plugins = getattr(getattr(app, "plugins", None), "init", ())
        if not any(isinstance(plugin, LifecyclePlugin) for plugin in plugins):
            raise LifecycleError(
                f"LifespanClient({app!r}): not a Litestar app with a LifecyclePlugin, so no "
                f"hook would run; create it with Litestar(..., plugins=[LifecyclePlugin(...)])"
            )
        self.app = app
        self.client_options = client_options
        self._sync: TestClient[Litestar] | None = None
        self._async: AsyncTestClient[Litestar] | None = None

    @property
    def context(self) -> LifespanContext:
        """The running `asgi_lifecycle.LifespanContext` (only inside the block)."""
        if self._sync is None and self._async is None:
            raise LifecycleError("LifespanClient.context is only there inside its with block")
        return get_context(self.app)

    @property
    def state(self) -> dict[str, Any]:
        """What the hooks published (on ``app.state`` too), only inside the block."""
        return self.context.state

    def __enter__(self) -> TestClient[Litestar]:
        self._check_unused()
        client = TestClient(self.app, **self.client_options)
        try:
            client.__enter__()
        except BaseExceptionGroup as group:
            _raise_leaf(group)
            raise
        self._sync = client
        return client

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        client, self._sync = self._sync, None
        if client is None:
            return
        try:
            client.__exit__(exc_type, exc, traceback)
        except BaseException as error:
            _raise_unless_block_failed(error, exc)

    async def __aenter__(self) -> AsyncTestClient[Litestar]:
        self._check_unused()
        client = AsyncTestClient(self.app, **self.client_options)
        try:
            await client.__aenter__()
        except BaseExceptionGroup as group:
            _raise_leaf(group)
            raise
        self._async = client
        return client

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        client, self._async = self._async, None
        if client is None:
            return
        try:
            await client.__aexit__(exc_type, exc, traceback)
        except BaseException as error:
            _raise_unless_block_failed(error, exc)

    def _check_unused(self) -> None:
        if self._sync is not None or self._async is not None:
            raise LifecycleError("this LifespanClient is already in use; make one per with block")


def _raise_unless_block_failed(error: BaseException, block_error: BaseException | None) -> None:
    if block_error is not None and isinstance(error, Exception):
        return  # the block's exception goes on; the core logged the shutdown failure
    if isinstance(error, BaseExceptionGroup):
        _raise_leaf(error)
    raise error


def _raise_leaf(group: BaseExceptionGroup[BaseException]) -> None:
    """Raise the one exception inside Litestar's nested exception groups, if there is one."""
    leaves = _leaves(group)
    if len(leaves) == 1:
        # As is: its own __cause__ (a hook's error, for StartupFailed) is what a reader
        # needs, not the task groups it crossed.
        raise leaves[0]


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found.extend(_leaves(exc))
        else:
            found.append(exc)
    return found
