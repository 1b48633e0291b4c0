"""LifespanMiddleware under real ASGI servers, each run as a subprocess (see conftest.py).

The matrix is server x behaviour. A server that cannot do something is a strict expected
failure with the reason, declared in the gap tables below, so that a fix upstream shows.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .conftest import Record

STARTUP = ["start first", "setup greeting", "start last"]
SHUTDOWN = ["stop last", "teardown greeting", "stop first"]
GREETING = "hello from the lifespan state"
CLEAN_EXITS = {0, -signal.SIGTERM}

# Servers that send the lifespan protocol; gunicorn runs two uvicorn workers.
LIFESPAN_SERVERS = ["uvicorn-auto", "uvicorn-on", "hypercorn", "granian", "gunicorn"]
NO_LIFESPAN_SERVERS = ["daphne", "uvicorn-off"]
FAILURE_CASES = [
    (server, failure) for server in LIFESPAN_SERVERS for failure in ("failing", "hanging")
]

HYPERCORN_EXIT_ZERO = (
    "hypercorn (0.17 and 0.18 at least) exits 0 when its worker process fails: run() records "
    "the worker's exit code, then overwrites it with that of a second join over no processes "
    "(pgjones/hypercorn#269, fix proposed in #372). `hypercorn --workers 0` exits 1."
)
EXIT_STATUS_GAPS = {
    ("hypercorn", "failing"): HYPERCORN_EXIT_ZERO,
    ("hypercorn", "hanging"): HYPERCORN_EXIT_ZERO,
}

# What the server prints when a startup fails: the StartupFailed sent with
# lifespan.startup.failed (and re-raised), naming the hook and its error.
FAILURE_TEXTS = {
    "failing": ["StartupFailed", "'failing_hook'", "RuntimeError: the database is unreachable"],
    "hanging": ["StartupFailed", "'hanging_hook'", "HookTimeout", "did not finish within"],
}


def cases(names: list[Any], gaps: dict[Any, str] | None = None) -> list[Any]:
    """Parameters for `names`; those in `gaps` become strict expected failures."""
    gaps = gaps or {}
    return [
        pytest.param(
            name,
            id="-".join(name) if isinstance(name, tuple) else name,
            marks=[pytest.mark.xfail(strict=True, reason=gaps[name])] if name in gaps else [],
        )
        for name in names
    ]


def process_events(record: Record) -> dict[int, list[str]]:
    """Each process that wrote to the log, with its events in order."""
    return {pid: record.events(pid) for pid in dict.fromkeys(line.pid for line in record.log)}


# -- a server that sends lifespan: start, serve, SIGTERM -------------------------------------


@pytest.mark.parametrize("served", cases(LIFESPAN_SERVERS), indirect=True)
def test_startup_hooks_run_in_order_before_the_first_request(served: Record) -> None:
    """Every process runs the startup hooks in order before it serves any request."""
    events = process_events(served)
    assert any("request" in process for process in events.values()), served
    for process in events.values():
        assert process[: len(STARTUP)] == STARTUP, served


@pytest.mark.parametrize("served", cases(LIFESPAN_SERVERS), indirect=True)
def test_state_reaches_the_request(served: Record) -> None:
    """A resource's published value reaches every request through the lifespan state."""
    assert [answer.status_code for answer in served.answers] == [200, 200], served
    assert [answer.json()["greeting"] for answer in served.answers] == [GREETING] * 2, served


@pytest.mark.parametrize("served", cases(LIFESPAN_SERVERS), indirect=True)
def test_sigterm_runs_the_shutdown_hooks_in_reverse_order(served: Record) -> None:
    """SIGTERM runs the shutdown hooks and teardowns in the reverse of the startup order."""
    for process in process_events(served).values():
        assert process[-len(SHUTDOWN) :] == SHUTDOWN, served
        between = process[len(STARTUP) : -len(SHUTDOWN)]
        assert set(between) <= {"request"}, served


@pytest.mark.parametrize("served", cases(LIFESPAN_SERVERS), indirect=True)
def test_sigterm_exits_cleanly(served: Record) -> None:
    """After SIGTERM the server exits 0 (or -15: uvicorn re-raises SIGTERM once it is done)."""
    assert served.exit_status in CLEAN_EXITS, served


@pytest.mark.parametrize("served", cases(LIFESPAN_SERVERS), indirect=True)
def test_hooks_run_once_in_each_worker_process(served: Record) -> None:
    """Each worker process runs the hooks once; a process manager's master runs none."""
    pids = served.hook_pids()
    assert len(pids) == len(set(pids)) == served.server.kind.workers, served
    for pid in pids:
        events = served.events(pid)
        assert events.count("start first") == events.count("stop first") == 1, served
    assert {answer.json()["pid"] for answer in served.answers} <= set(pids), served
    if served.server.kind.workers > 1:
        assert served.server.pid not in pids, served


# -- a critical startup hook fails or hangs --------------------------------------------------


@pytest.mark.parametrize("failed", cases(FAILURE_CASES), indirect=True)
def test_failed_startup_serves_nothing(failed: Record) -> None:
    """A failed startup stops the server by itself before it answers any request."""
    assert failed.answers == [], failed
    assert failed.exit_status is not None, failed
    for process in process_events(failed).values():
        assert "request" not in process, failed
        assert "start last" not in process, failed


@pytest.mark.parametrize("failed", cases(FAILURE_CASES), indirect=True)
def test_failed_startup_names_the_hook_and_its_error(failed: Record) -> None:
    """The server's output names the hook that failed and its error."""
    assert failed.failure is not None
    output = failed.server.output()
    missing = [text for text in FAILURE_TEXTS[failed.failure] if text not in output]
    assert not missing, f"missing {missing} in the output\n{failed}"


@pytest.mark.parametrize("failed", cases(FAILURE_CASES), indirect=True)
def test_failed_startup_rolls_back_what_started(failed: Record) -> None:
    """What started before the failure is torn down, in reverse order, before the exit."""
    rolled_back = [
        process
        for process in process_events(failed).values()
        if process[-2:] == ["teardown greeting", "stop first"]
    ]
    assert rolled_back, failed


@pytest.mark.parametrize("failed", cases(FAILURE_CASES, EXIT_STATUS_GAPS), indirect=True)
def test_failed_startup_exits_non_zero(failed: Record) -> None:
    """A failed startup makes the server exit with a positive status."""
    assert failed.exit_status is not None, failed
    assert failed.exit_status > 0, failed


# -- a server that sends no lifespan ---------------------------------------------------------


@pytest.mark.parametrize("unstarted", cases(NO_LIFESPAN_SERVERS), indirect=True)
def test_no_lifespan_is_warned_about_once(unstarted: Record) -> None:
    """The first request of a server without lifespan logs the warning, once."""
    assert unstarted.server.output().count("arrived before any lifespan startup") == 1, unstarted


@pytest.mark.parametrize("unstarted", cases(NO_LIFESPAN_SERVERS), indirect=True)
def test_no_lifespan_runs_no_hooks(unstarted: Record) -> None:
    """Without lifespan the requests are served, but no hook runs and the state stays empty."""
    assert [answer.json()["greeting"] for answer in unstarted.answers] == [None, None], unstarted
    assert {line.event for line in unstarted.log} == {"request"}, unstarted
    assert unstarted.exit_status in CLEAN_EXITS, unstarted
