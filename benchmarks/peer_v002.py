"""The peer worker: runs inside an environment holding asgi-lifecycle 0.0.2.

0.0.2 has our import name, so it cannot share an environment with this project. The
benchmark driver starts this script with that environment's Python and sends it one
JSON command per line on stdin; it answers one JSON line on stdout. It measures with
the same loops as the driver (``_asgi``, standard library only).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import traceback
from collections.abc import Awaitable, Callable
from importlib import metadata
from pathlib import Path
from time import perf_counter
from typing import Any

# Run with -I: only this directory is added, for the shared standard-library helpers.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _asgi

# The 0.0.2 API, not ours (which type checkers see under the same name): untyped here.
_v002: Any = importlib.import_module("asgi_lifecycle")
lifespan: Any = _v002.lifespan
LifespanContext: Any = _v002.LifespanContext
LifespanMiddleware: Any = importlib.import_module("asgi_lifecycle.middleware").LifespanMiddleware

State = dict[str, Any]
Command = Callable[..., Awaitable[dict[str, Any]]]


def _reset() -> None:
    """Empty the 0.0.2 singleton (its reset_instance leaves the module-level one alone)."""
    lifespan._startup_hooks.clear()
    lifespan._shutdown_hooks.clear()
    lifespan._initialized = False
    lifespan._shutdown_timeout = 30.0


def _noop(index: int) -> Any:
    async def hook() -> None:
        return None

    hook.__name__ = f"hook{index}"
    return hook


async def hello(state: State) -> dict[str, Any]:
    return {"version": metadata.version("asgi-lifecycle"), "python": sys.version}


async def p1_setup(state: State, batch: int) -> dict[str, Any]:
    _reset()
    variants = {
        "bare": _asgi.minimal_app,
        "wrapper": _asgi.PassThrough(_asgi.minimal_app),
        "v002": LifespanMiddleware(_asgi.minimal_app),
    }
    for app in variants.values():
        await _asgi.check_response(app)
    state["p1"] = (variants, batch, [0])
    return {}


async def p1_round(state: State) -> dict[str, Any]:
    variants, batch, counter = state["p1"]
    names = list(variants)
    shift = counter[0] % len(names)
    counter[0] += 1
    out = {}
    for name in [*names[shift:], *names[:shift]]:
        out[name] = await _asgi.time_requests(variants[name], batch)
    return out


async def p2_setup(state: State, hooks: int, delay: float) -> dict[str, Any]:
    _reset()
    ran: list[int] = []

    def make(index: int) -> Any:
        async def hook() -> None:
            await asyncio.sleep(delay)
            ran.append(index)

        return hook

    for index in range(hooks):
        lifespan.on_start(name=f"hook{index}")(make(index))
    state["p2"] = ran
    driver = _asgi.LifespanDriver(LifespanMiddleware(_asgi.minimal_app))
    await driver.startup()
    await driver.shutdown()
    if len(ran) != hooks:
        raise RuntimeError(f"{len(ran)} of {hooks} startup hooks ran")
    return {}


async def p2_round(state: State) -> dict[str, Any]:
    # A fresh middleware each time: 0.0.2 keeps its startup task on the instance.
    driver = _asgi.LifespanDriver(LifespanMiddleware(_asgi.minimal_app))
    seconds = await driver.startup()
    await driver.shutdown()
    return {"v002": seconds}


async def p3_setup(state: State, n: int, cycles: int) -> dict[str, Any]:
    _reset()
    for index in range(n):
        lifespan.on_start(name=f"start{index}")(_noop(index))
        lifespan.on_shutdown(name=f"stop{index}")(_noop(index))
    state["p3"] = (n, cycles)
    return {}


async def p3_round(state: State) -> dict[str, Any]:
    n, cycles = state["p3"]
    context = LifespanContext(service_type="app")
    start = perf_counter()
    for _ in range(cycles):
        await lifespan.startup(context)
        await lifespan.shutdown(context)
    return {"v002": (perf_counter() - start) / (cycles * n)}


async def p3_register(state: State, n: int) -> dict[str, Any]:
    _reset()
    hooks = [_noop(index) for index in range(n)]
    start = perf_counter()
    for index, hook in enumerate(hooks):
        lifespan.on_start(name=f"start{index}")(hook)
    seconds = perf_counter() - start
    _reset()
    return {"seconds": seconds}


async def p5_round(state: State, others: int, hung: int, budget: float) -> dict[str, Any]:
    _reset()
    lifespan._shutdown_timeout = budget  # 0.0.2 has no public setting for it
    ran: list[int] = []

    async def hang() -> None:
        await asyncio.Event().wait()

    def make(index: int) -> Any:
        async def hook() -> None:
            ran.append(index)

        return hook

    # 0.0.2 runs shutdown hooks of one priority in registration order: the hung ones
    # go first, so that every other hook has to wait for them.
    for index in range(hung):
        lifespan.on_shutdown(name=f"hung{index}")(hang)
    for index in range(others):
        lifespan.on_shutdown(name=f"other{index}")(make(index))
    context = LifespanContext(service_type="app")
    await lifespan.startup(context)
    start = perf_counter()
    await lifespan.shutdown(context)
    seconds = perf_counter() - start
    _reset()
    return {"seconds": seconds, "ran": len(ran)}


COMMANDS: dict[str, Command] = {
    "hello": hello,
    "p1.setup": p1_setup,
    "p1.round": p1_round,
    "p2.setup": p2_setup,
    "p2.round": p2_round,
    "p3.setup": p3_setup,
    "p3.round": p3_round,
    "p3.register": p3_register,
    "p5.round": p5_round,
}


def main() -> None:
    loop = asyncio.new_event_loop()
    state: State = {}
    for line in sys.stdin:
        command = json.loads(line)
        op = command.pop("op")
        try:
            answer = loop.run_until_complete(COMMANDS[op](state, **command))
        except Exception as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    loop.close()


if __name__ == "__main__":
    main()
