"""The service's hook module: written once, run by every process that imports it."""

from collections.abc import AsyncIterator

from asgi_lifecycle import lifespan


@lifespan.on_start()
def announce() -> None:
    print("hooks: starting", flush=True)


@lifespan.resource()
async def greeting() -> AsyncIterator[str]:
    # Stands for a connection pool or a client: opened before the first request, closed after
    # the last one. The yielded value is published as the lifespan state's "greeting".
    print("hooks: greeting ready", flush=True)
    yield "Hello from the lifespan state!"
    print("hooks: greeting closed", flush=True)


@lifespan.on_shutdown()
def farewell() -> None:
    print("hooks: stopping", flush=True)
