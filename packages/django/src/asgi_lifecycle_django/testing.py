"""Test helpers: run the lifespan around a test and hand its state to Django's test clients.

Django's `Client` and `AsyncClient` never run lifespan, and Django 5.2's
`AsyncClient` turns extra keyword arguments into headers, so a ``state=``
argument does not reach ``scope["state"]``. These clients put the run's state
(a per-request copy, as servers do) and context where `LifecycleMiddleware`
reads them::

    from asgi_lifecycle_django.testing import async_lifecycle_client, lifecycle_client

    def test_view():
        with lifecycle_client() as client:
            assert client.get("/items/").status_code == 200

    async def test_async_view():
        async with async_lifecycle_client() as client:
            assert (await client.get("/items/")).status_code == 200
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from asgi_lifecycle import Lifespan, LifespanContext

from ._entry import prepare
from ._hooks import sync_runner
from ._middleware import CONTEXT_KEY, STATE_KEY

__all__ = ("AsyncLifecycleClient", "LifecycleClient", "async_lifecycle_client", "lifecycle_client")


class LifecycleClient(Client):
    """Django's test `Client`, giving each request the state and context of a run.

    Args:
        *args: As for `Client`.
        context: The run's context (``None``: requests get no state).
        **kwargs: As for `Client`.
    """

    def __init__(self, *args: Any, context: LifespanContext | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lifecycle = context

    @property
    def state(self) -> dict[str, Any]:
        """The run's state (empty without a context)."""
        return self.lifecycle.state if self.lifecycle is not None else {}

    def request(self, **request: Any) -> Any:
        """Make a request, with the run's state and context in its environ."""
        if self.lifecycle is not None:
            request.setdefault(STATE_KEY, dict(self.lifecycle.state))
            request.setdefault(CONTEXT_KEY, self.lifecycle)
        return super().request(**request)


class AsyncLifecycleClient(AsyncClient):
    """Django's test `AsyncClient`, giving each request the state and context of a run.

    The state goes to ``scope["state"]`` (a per-request copy), the context to
    ``scope["asgi_lifecycle.context"]``, where `LifecycleMiddleware` reads them.

    Args:
        *args: As for `AsyncClient`.
        context: The run's context (``None``: requests get no state).
        **kwargs: As for `AsyncClient`.
    """

    def __init__(self, *args: Any, context: LifespanContext | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lifecycle = context

    @property
    def state(self) -> dict[str, Any]:
        """The run's state (empty without a context)."""
        return self.lifecycle.state if self.lifecycle is not None else {}

    async def request(self, **request: Any) -> Any:
        """Make a request, with the run's state and context in its scope."""
        if self.lifecycle is not None:
            request.setdefault("state", dict(self.lifecycle.state))
            request.setdefault(CONTEXT_KEY, self.lifecycle)
        return await super().request(**request)


@contextmanager
def lifecycle_client(
    *,
    lifespan: Lifespan | None = None,
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
    **client_kwargs: Any,
) -> Iterator[LifecycleClient]:
    """Run the startup, yield a `LifecycleClient` with the run's state, then run the shutdown.

    For sync tests. Sync hooks run in the test's own thread (inside a
    ``TestCase``'s transaction); async hooks run on a loop that ends with the
    startup, so async resources bound to a loop belong in
    `async_lifecycle_client`. The arguments override ``settings.ASGI_LIFECYCLE``;
    ``client_kwargs`` go to the client.

    Raises:
        StartupFailed: a critical hook failed (everything was rolled back).
    """
    registry, context = prepare(lifespan, service_type, environment, config)
    async_to_sync(registry.startup)(context, sync_runner=sync_runner)
    try:
        yield LifecycleClient(context=context, **client_kwargs)
    finally:
        async_to_sync(registry.shutdown)(context)


@asynccontextmanager
async def async_lifecycle_client(
    *,
    lifespan: Lifespan | None = None,
    service_type: str | None = None,
    environment: str | None = None,
    config: Mapping[str, Any] | None = None,
    **client_kwargs: Any,
) -> AsyncIterator[AsyncLifecycleClient]:
    """Run the startup, yield an `AsyncLifecycleClient` with the run's state, then shut down.

    For async tests: the hooks run on the test's event loop, so async resources
    work in the views the client calls. The arguments override
    ``settings.ASGI_LIFECYCLE``; ``client_kwargs`` go to the client.

    Raises:
        StartupFailed: a critical hook failed (everything was rolled back).
    """
    registry, context = prepare(lifespan, service_type, environment, config)
    await registry.startup(context, sync_runner=sync_runner)
    try:
        yield AsyncLifecycleClient(context=context, **client_kwargs)
    finally:
        await registry.shutdown(context)
