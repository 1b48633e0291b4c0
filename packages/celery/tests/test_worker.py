"""Real ``celery worker`` processes: where the hooks run, what tasks see, how it stops."""

from __future__ import annotations

import os
import signal
from importlib.util import find_spec

import pytest

from ._harness import Event, Harness, of


def started(events: list[Event]) -> list[Event]:
    return [e for e in of(events, "startup") if e["service_type"] == "worker"]


def pids(events: list[Event]) -> set[int]:
    return {e["pid"] for e in events}


def test_prefork_hooks_run_in_every_child(harness: Harness) -> None:
    """In a prefork worker each pool child runs the hooks, its tasks use them, SIGTERM stops it."""
    worker = harness.start_worker("prefork", 2)
    events = worker.wait_for("two pool children started", lambda ev: len(started(ev)) == 2)
    children = pids(started(events))
    assert worker.pid not in children
    for event in started(events):
        assert event["ppid"] == worker.pid
        assert event["process"] == "pool-child"

    for x in range(4):
        harness.send("use", x)
    events = worker.wait_for("four tasks", lambda ev: len(of(ev, "task")) == 4)
    tasks = of(events, "task")
    assert sorted(task["result"] for task in tasks) == [0, 2, 4, 6]
    assert pids(tasks) <= children
    assert {task["service_type"] for task in tasks} == {"worker"}

    assert worker.stop() == 0
    events = harness.events()
    assert pids(of(events, "shutdown")) == children
    assert len(of(events, "shutdown")) == 2
    assert "raised worker_proc_alive_timeout from 4 s to 14 s" in worker.output()


def spawn_supported() -> bool:
    from celery.app.defaults import NAMESPACES

    return "pool_start_method" in NAMESPACES["worker"]


SPAWN = pytest.mark.skipif(not spawn_supported(), reason="needs worker_pool_start_method")


@SPAWN
def test_spawned_children_run_the_hooks(harness: Harness) -> None:
    """Pool children started with "spawn" run the hooks too, and stop them on SIGTERM."""
    worker = harness.start_worker("prefork", 2, "--pool-start-method=spawn")
    events = worker.wait_for("two pool children started", lambda ev: len(started(ev)) == 2)
    children = pids(started(events))
    assert {e["ppid"] for e in started(events)} == {worker.pid}
    for x in range(4):
        harness.send("use", x)
    events = worker.wait_for("four tasks", lambda ev: len(of(ev, "task")) == 4)
    assert pids(of(events, "task")) <= children
    assert worker.stop() == 0
    assert pids(of(harness.events(), "shutdown")) == children


@SPAWN
def test_spawned_child_failure_stops_the_worker(harness: Harness) -> None:
    """A "spawn" pool child whose critical hook fails stops the worker with status 1."""
    harness.send("use", 1)
    worker = harness.start_worker("prefork", 2, "--pool-start-method=spawn", fail="worker")
    assert worker.wait_exit() == 1, worker.output()
    assert "RuntimeError: database unreachable" in worker.output()
    assert not of(harness.events(), "task")


GEVENT = pytest.param(
    "gevent", marks=pytest.mark.skipif(find_spec("gevent") is None, reason="needs gevent")
)


@pytest.mark.parametrize("pool", ["solo", "threads", GEVENT])
def test_single_process_pools_run_hooks_in_the_worker(harness: Harness, pool: str) -> None:
    """A solo or threads worker runs the hooks once, in its own process, and stops on SIGTERM."""
    worker = harness.start_worker(pool, 2)
    events = worker.wait_for("the worker's startup", lambda ev: len(started(ev)) == 1)
    assert pids(started(events)) == {worker.pid}
    assert started(events)[0]["process"] == "worker"

    for x in range(4):
        harness.send("use", x)
    events = worker.wait_for("four tasks", lambda ev: len(of(ev, "task")) == 4)
    tasks = of(events, "task")
    assert sorted(task["result"] for task in tasks) == [0, 2, 4, 6]
    assert pids(tasks) == {worker.pid}
    if pool in ("threads", "gevent"):
        assert "MainThread" not in {task["thread"] for task in tasks}

    assert worker.stop() == 0
    assert pids(of(harness.events(), "shutdown")) == {worker.pid}
    assert len(of(harness.events(), "shutdown")) == 1


@pytest.mark.parametrize("pool", ["prefork", "solo", "threads"])
def test_warm_shutdown_lets_running_tasks_finish_first(harness: Harness, pool: str) -> None:
    """A task running at SIGTERM still uses its resources; the shutdown hooks run after it."""
    worker = harness.start_worker(pool, 2)
    worker.wait_for("the startup", lambda ev: len(started(ev)) == (2 if pool == "prefork" else 1))
    harness.send("slow_use", 5)
    events = worker.wait_for("the slow task", lambda ev: len(of(ev, "slow-start")) == 1)
    assert worker.stop() == 0
    events = harness.events()
    (task,) = of(events, "task")
    assert task["result"] == 10
    (shutdown,) = [e for e in of(events, "shutdown") if e["pid"] == task["pid"]]
    assert events.index(task) < events.index(shutdown)


def test_recycled_children_run_startup_and_shutdown(harness: Harness) -> None:
    """With --max-tasks-per-child=1 every child, recycled or new, runs its startup and shutdown."""
    worker = harness.start_worker("prefork", 2, "--max-tasks-per-child=1")
    worker.wait_for("two pool children started", lambda ev: len(started(ev)) == 2)
    for x in range(4):
        harness.send("use", x)
    events = worker.wait_for("four tasks", lambda ev: len(of(ev, "task")) == 4)
    tasks = of(events, "task")
    assert len(pids(tasks)) == 4

    assert worker.stop() == 0
    events = harness.events()
    assert pids(tasks) <= pids(started(events))
    assert pids(of(events, "shutdown")) == pids(started(events))
    assert len(of(events, "shutdown")) == len(started(events))
    assert {e["ppid"] for e in started(events)} == {worker.pid}


def test_killed_child_is_replaced_and_the_replacement_runs_startup(harness: Harness) -> None:
    """A pool child killed with SIGKILL is replaced by a child that runs the startup again."""
    worker = harness.start_worker("prefork", 2)
    events = worker.wait_for("two pool children started", lambda ev: len(started(ev)) == 2)
    # Killed in a task: an idle child may hold the lock of the queue that the pool's
    # children share with a non-eventloop broker, which would leave the pool stuck.
    harness.send("block")
    events = worker.wait_for("a busy child", lambda ev: len(of(ev, "blocking")) == 1)
    victim = of(events, "blocking")[0]["pid"]
    (survivor,) = pids(started(events)) - {victim}
    os.kill(victim, signal.SIGKILL)
    events = worker.wait_for("a replacement child", lambda ev: len(started(ev)) == 3)
    replacement = pids(started(events)) - {victim, survivor}
    assert len(replacement) == 1
    assert started(events)[-1]["ppid"] == worker.pid

    for x in range(4):
        harness.send("use", x)
    events = worker.wait_for("four tasks", lambda ev: len(of(ev, "task")) == 4)
    assert pids(of(events, "task")) <= {survivor, *replacement}

    assert worker.stop() == 0
    assert pids(of(harness.events(), "shutdown")) == {survivor, *replacement}


@pytest.mark.parametrize("pool", ["prefork", "solo", "threads"])
def test_failing_critical_hook_stops_the_worker(harness: Harness, pool: str) -> None:
    """A critical startup hook that fails stops the worker with status 1 before any task runs."""
    harness.send("use", 1)
    worker = harness.start_worker(pool, 2, fail="worker")
    status = worker.wait_exit()
    output = worker.output()
    assert status == 1, output
    assert "RuntimeError: database unreachable" in output
    assert "startup failed in" in output
    events = harness.events()
    assert started(events)
    assert not of(events, "task")
    assert not of(events, "shutdown")


@pytest.mark.parametrize("start_method", ["fork", pytest.param("spawn", marks=SPAWN)])
def test_failed_child_startup_is_not_retried(harness: Harness, start_method: str) -> None:
    """A pool child whose critical hook fails gets no replacement and the worker exits 1 at once."""
    if start_method == "fork":
        # Waiting in the queue: the pool is handed a job that no child will run.
        harness.send("use", 1)
    extra = () if start_method == "fork" else ("--pool-start-method=spawn",)
    worker = harness.start_worker("prefork", 2, *extra, fail="worker")
    status = worker.wait_exit()
    output = worker.output()
    assert status == 1, output
    runs = started(harness.events())
    # Each of the two children the pool started runs the hooks once; none is replaced.
    assert 1 <= len(runs) <= 2, output
    assert {run["ppid"] for run in runs} == {worker.pid}
    assert not of(harness.events(), "task")
    last = output.strip().splitlines()[-1]
    assert "stopped the worker (exit status 1)" in last, output
    if start_method == "fork":
        error = "hook 'lifecycle_celery_app.client' raised RuntimeError: database unreachable"
        assert f"{error} (pid " in last, output


def test_supervisor_hooks_run_once_in_the_main_process(harness: Harness) -> None:
    """The supervisor's hooks run once in the worker's main process, around the children's."""
    worker = harness.start_worker("prefork", 2, supervisor=True)
    events = worker.wait_for("two pool children started", lambda ev: len(started(ev)) == 2)
    assert events[0]["event"] == "supervisor-startup"
    assert pids(of(events, "supervisor-startup")) == {worker.pid}
    harness.send("use", 3)
    worker.wait_for("a task", lambda ev: len(of(ev, "task")) == 1)

    assert worker.stop() == 0
    events = harness.events()
    assert events[-1]["event"] == "supervisor-shutdown"
    assert events[-1]["pid"] == worker.pid
    assert len(of(events, "supervisor-startup")) == len(of(events, "supervisor-shutdown")) == 1
    assert pids(of(events, "shutdown")) == pids(started(events))


def test_failing_supervisor_hook_stops_before_any_child(harness: Harness) -> None:
    """A supervisor startup that fails stops the worker with status 1 before any child starts."""
    worker = harness.start_worker("prefork", 2, supervisor=True, fail="supervisor")
    status = worker.wait_exit()
    assert status == 1, worker.output()
    assert "database unreachable" in worker.output()
    assert not started(harness.events())
