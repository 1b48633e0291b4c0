from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import AsyncIterator, Iterator

import pytest

from asgi_lifecycle import Lifespan, LifespanContext, StartupFailed

pytestmark = pytest.mark.anyio


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def _build() -> Lifespan:
    lp = Lifespan(concurrent=True, shutdown_timeout=5)

    @lp.resource
    async def pool() -> AsyncIterator[int]:
        await asyncio.sleep(0)
        yield 1

    @lp.resource(after=pool)
    def cache() -> Iterator[int]:
        yield 2

    @lp.on_start
    def sync_start() -> None: ...

    @lp.on_shutdown
    async def stop() -> None:
        await asyncio.sleep(0)

    return lp


async def test_a_thousand_cycles_leave_nothing_behind() -> None:
    """1,000 startup/shutdown cycles leave no task, thread or file descriptor behind."""
    lp = _build()
    failing = _build()

    @failing.on_start(priority=1)
    async def breaks() -> None:
        raise RuntimeError("x")

    # Warm up once so lazily created objects (logging, thread machinery) exist already.
    async with lp.run(LifespanContext("app")):
        pass
    gc.collect()
    tasks, threads, fds = len(asyncio.all_tasks()), set(threading.enumerate()), _open_fds()
    for index in range(1000):
        if index % 10 == 0:
            with pytest.raises(StartupFailed):
                await failing.startup(LifespanContext("app"))
        else:
            async with lp.run(LifespanContext("app")):
                pass
    for _ in range(100):  # daemon hook threads finish just after handing back their result
        if not set(threading.enumerate()) - threads:
            break
        await asyncio.sleep(0.01)
    gc.collect()
    assert len(asyncio.all_tasks()) == tasks
    assert set(threading.enumerate()) - threads == set()
    assert _open_fds() == fds
    assert not lp.is_initialized()


def test_a_hundred_blocking_cycles_leave_no_thread_behind() -> None:
    """Each BlockingRunner joins its loop thread and closes its loop at stop()."""
    lp = _build()
    threads, fds = set(threading.enumerate()), _open_fds()
    for _ in range(100):
        with lp.run_blocking(LifespanContext("worker")) as runner:
            assert runner.context.state == {"pool": 1, "cache": 2}
    for _ in range(100):
        if not set(threading.enumerate()) - threads:
            break
        threading.Event().wait(0.01)
    assert set(threading.enumerate()) - threads == set()
    assert _open_fds() == fds
