"""The core worker: measures one build of asgi-lifecycle's core, driven over a pipe.

``bench_core`` starts two of these with this environment's Python: one imports the
core as installed (this checkout), the other the core of an earlier commit, put
first on ``sys.path`` (its source tree is given as the first argument). Both run the
very same measurements below, against an ``AsyncExitStack`` and a bare Starlette app
of their own, one JSON command per line on stdin, one JSON answer per line on stdout.
Only the public API that both builds have is used.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from time import perf_counter
from typing import Any

if len(sys.argv) > 1 and sys.argv[1]:
    sys.path.insert(0, sys.argv[1])  # the earlier core, ahead of the installed one
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _asgi

import asgi_lifecycle
from asgi_lifecycle import Lifespan, LifespanContext, LifespanMiddleware

State = dict[str, Any]
Command = Callable[..., Awaitable[dict[str, Any]]]


def _start_hook() -> Callable[[], Awaitable[None]]:
    async def hook() -> None:
        return None

    return hook


def _resource() -> Callable[[], AsyncIterator[None]]:
    async def resource() -> AsyncIterator[None]:
        yield

    return resource


def _manager() -> Callable[[], Any]:
    @asynccontextmanager
    async def manager() -> AsyncIterator[None]:
        yield

    return manager


async def hello(state: State) -> dict[str, Any]:
    return {"version": asgi_lifecycle.__version__}


async def runner_setup(state: State, kind: str, n: int, cycles: int) -> dict[str, Any]:
    lifespan = Lifespan()
    for index in range(n):
        if kind == "pairs":
            lifespan.add_start_hook(_start_hook(), name=f"start{index}")
            lifespan.add_shutdown_hook(_start_hook(), name=f"stop{index}")
        else:
            lifespan.add_resource(_resource(), name=f"resource{index}", key=f"resource{index}")
    state["runner"] = (lifespan, [_manager() for _ in range(n)], cycles, [0])
    return {}


async def runner_round(state: State) -> dict[str, Any]:
    """Seconds per unit (a start + shutdown pair, or a resource) and per context manager."""
    lifespan, managers, cycles, counter = state["runner"]
    counter[0] += 1
    order = ("ours", "stack") if counter[0] % 2 else ("stack", "ours")
    out: dict[str, float] = {}
    for side in order:
        gc.collect()
        start = perf_counter()
        if side == "ours":
            context = LifespanContext("app")
            for _ in range(cycles):
                await lifespan.startup(context)
                await lifespan.shutdown(context)
        else:
            for _ in range(cycles):
                async with AsyncExitStack() as stack:
                    for manager in managers:
                        await stack.enter_async_context(manager())
        out[side] = (perf_counter() - start) / (cycles * len(managers))
    return out


async def register(state: State, n: int) -> dict[str, Any]:
    """Seconds to register ``n`` start hooks and ``n`` shutdown hooks."""
    hooks = [(_start_hook(), _start_hook()) for _ in range(n)]
    gc.collect()
    lifespan = Lifespan()
    start = perf_counter()
    for index, (first, second) in enumerate(hooks):
        lifespan.add_start_hook(first, name=f"start{index}")
        lifespan.add_shutdown_hook(second, name=f"stop{index}")
    return {"seconds": perf_counter() - start}


def _starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/", home)])


async def request_setup(state: State, batch: int) -> dict[str, Any]:
    lifespan = Lifespan()

    @lifespan.resource(key="lifecycle_db")
    async def database() -> AsyncIterator[object]:
        yield object()

    apps = {
        "starlette": _starlette(),
        "wrapper": _asgi.PassThrough(_starlette()),
        "ours": LifespanMiddleware(_starlette(), lifespan=lifespan),
    }
    drivers = [_asgi.LifespanDriver(app) for app in apps.values()]
    for driver in drivers:
        await driver.startup()
    for app in apps.values():
        await _asgi.check_response(app)
    state["request"] = (apps, drivers, batch, [0])
    return {}


async def request_round(state: State) -> dict[str, Any]:
    """Nanoseconds per request for the bare app, a pass-through, and the middleware."""
    apps, _, batch, counter = state["request"]
    names = list(apps)
    shift = counter[0] % len(names)
    counter[0] += 1
    out = {}
    for name in [*names[shift:], *names[:shift]]:
        out[name] = await _asgi.time_requests(apps[name], batch)
    return out


COMMANDS: dict[str, Command] = {
    "hello": hello,
    "runner.setup": runner_setup,
    "runner.round": runner_round,
    "register": register,
    "request.setup": request_setup,
    "request.round": request_round,
}


async def main() -> None:
    state: State = {}
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        request = json.loads(line)
        op = request.pop("op")
        try:
            answer = await COMMANDS[op](state, **request)
        except Exception:
            answer = {"error": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
