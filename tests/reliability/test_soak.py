"""Many cycles: uvicorn --reload restarting the app 20 times, and 1,000 runs in one process.

That is the short form ``hatch test`` runs. The long one (200 reloads, 20,000 runs):
``ASGI_LIFECYCLE_SOAK=long hatch test -- -m soak tests/reliability``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asgi_lifecycle import Lifespan, LifespanContext

from .._servers import LogLine, Server, ServerError, ServerKind, running
from .test_faults import APP, events, has, pids_with, send, wait_exit

LONG = os.environ.get("ASGI_LIFECYCLE_SOAK") == "long"
EDITS = 200 if LONG else 20
CYCLES = 20_000 if LONG else 1_000
# Bytes a run may leave behind for good, on average, before it counts as a leak.
GROWTH_PER_CYCLE = 64
# An edit the reloader missed is made again after RELOAD_WAIT seconds, at most this often.
RELOAD_ATTEMPTS = 3
RELOAD_WAIT = 5.0


@pytest.mark.soak
def test_reload_pairs_every_startup_with_a_shutdown_and_leaks_nothing(tmp_path: Path) -> None:
    """Under uvicorn --reload, each edit gives a paired run holding the same fds, threads, tasks."""
    watched = tmp_path / "watched"
    watched.mkdir()
    trigger = watched / "trigger.py"
    trigger.write_text("EDIT = 0\n")
    kind = ServerKind(
        "uvicorn --reload",
        # A short --reload-delay: the reloader takes its baseline soon after each restart,
        # before the new server is ready and the test edits (see _edit_until_reloaded).
        "-m uvicorn {app} --host 127.0.0.1 --port {port} --reload --reload-delay 0.05 "
        "--reload-dir " + str(watched),
    )
    held: list[dict[str, int]] = []
    with running(kind, APP, tmp_path) as server:
        for edit in range(EDITS + 1):
            server.wait_for_log(has("ready", edit + 1), f"the startup of cycle {edit}")
            answer = json.loads(server.first_response().text)
            while answer["pid"] != pids_with(server, "ready")[-1]:  # the old one still answers
                time.sleep(0.05)
                answer = json.loads(server.first_response().text)
            held.append({key: answer[key] for key in ("fds", "threads", "tasks")})
            if edit < EDITS:
                _edit_until_reloaded(server, trigger, edit + 1, answer["pid"])
        wait_exit(server, send(server, 15))
    runs = pids_with(server, "database open")
    print(f"{len(runs)} runs; held per run (fds, threads, tasks): {held}")
    assert len(runs) == EDITS + 1, server
    assert len(set(runs)) == EDITS + 1, server
    for pid in runs:
        assert events(server, pid) == ["database open", "ready", "farewell", "database closed"]
    assert all(cycle == held[0] for cycle in held), held


def _edit_until_reloaded(server: Server, trigger: Path, edit: int, pid: int) -> None:
    """Edit the watched file until the process `pid` starts its shutdown.

    uvicorn's StatReload forgets the mtimes at each restart and takes those of its
    next scan, a moment after the new server starts, as the baseline: an edit made
    before that scan is never seen as one. The server runs with a short
    ``--reload-delay``, so that the scan comes before the new server is ready; an
    edit that still brings no shutdown within a few seconds is made again.
    """

    def shut_down(log: list[LogLine]) -> bool:
        return any(line.pid == pid and line.event == "farewell" for line in log)

    for attempt in range(RELOAD_ATTEMPTS):
        trigger.write_text(f"EDIT = {edit}  # attempt {attempt}\n")
        try:
            server.wait_for_log(shut_down, f"the shutdown after edit {edit}", RELOAD_WAIT)
            return
        except ServerError:
            if server.poll() is not None:
                raise
    raise AssertionError(f"edit {edit}: no reload after {RELOAD_ATTEMPTS} edits\n{server}")


@pytest.mark.soak
def test_a_thousand_runs_in_one_process_leave_memory_flat() -> None:
    """Many startups and shutdowns of one Lifespan leave no memory behind that grows with them."""
    lifespan = Lifespan()

    @lifespan.resource(name="pool", priority=0)
    async def pool() -> AsyncIterator[list[int]]:
        yield [1, 2, 3]

    @lifespan.on_start(name="warm", priority=1)
    async def warm(context: LifespanContext) -> None:
        context.state["warm"] = True

    @lifespan.on_start(name="sync_warm", priority=1)
    def sync_warm() -> None:
        pass

    @lifespan.on_shutdown(name="flush")
    async def flush() -> None:
        await asyncio.sleep(0)

    @lifespan.health_check(name="pool_answers")
    async def pool_answers() -> None:
        await asyncio.sleep(0)

    async def cycles(count: int) -> None:
        for _ in range(count):
            context = LifespanContext("soak", "test")
            await lifespan.startup(context)
            await lifespan.health()
            await lifespan.shutdown(context)

    async def measure() -> tuple[int, int]:
        await cycles(100)  # caches, interned names and the thread pool settle first
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await cycles(CYCLES)
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        return before, after

    before, after = asyncio.run(measure())
    growth = after - before
    print(
        f"{CYCLES} runs: traced memory {before} -> {after} bytes ({growth / CYCLES:+.1f} per run)"
    )
    assert growth < GROWTH_PER_CYCLE * CYCLES, f"{growth} bytes kept by {CYCLES} runs"
