"""Faults under real servers: stop signals during startup and shutdown, hung hooks, dead workers.

Each test starts a server as a subprocess (``app/reliability_app.py``), brings it to the
moment of the fault, and asserts on what the hooks logged and how the server ended. The
expected outcome per server, and what a server cannot do, is data (``expectations.py``),
which the docs table shows.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .._servers import POLL_INTERVAL, App, LogLine, Server, running
from .expectations import (
    CASES,
    GROUP_SIGINT_STATUSES,
    POOLS,
    SERVERS,
    Gap,
    render_table,
)

APP = App(Path(__file__).resolve().parent / "app", "reliability_app:app", "RELIABILITY_")
EXIT_TIMEOUT = 15.0  # a bound on the wait, never asserted: the cases print what they took


def _cases(case: str, *variants: object) -> list[object]:
    """The parameters of `case`: each server (times each variant), gaps as strict xfails."""
    params: list[object] = []
    for name, expected in CASES[case][1].items():
        marks = []
        if isinstance(expected, Gap):
            marks.append(pytest.mark.xfail(strict=True, reason=expected.reason))
        for variant in variants or (None,):
            values = (name, variant) if variants else (name,)
            ident = "-".join(str(v) for v in values)
            params.append(pytest.param(*values, marks=marks, id=ident))
    return params


def events(server: Server, pid: int | None = None) -> list[str]:
    """The hooks' events, of one process or of all."""
    return [line.event for line in server.log() if pid is None or line.pid == pid]


def pids_with(server: Server, event: str) -> list[int]:
    """The processes that logged `event`, in order."""
    return [line.pid for line in server.log() if line.event == event]


def wait_exit(server: Server, since: float) -> int:
    """Wait until the server exits by itself; print how long it took since `since`."""
    assert server.process is not None
    status = server.process.wait(timeout=EXIT_TIMEOUT)
    print(f"{server.kind.name}: exited {status} {time.monotonic() - since:.2f} s after the signal")
    return status


def serving(server: Server) -> None:
    """Wait until every worker has finished its startup and the server answers."""
    server.first_response()
    server.wait_for_log(
        lambda log: len({line.pid for line in log if line.event == "ready"}) >= server.kind.workers,
        f"the startup of {server.kind.name}'s workers",
    )


def send(server: Server, signum: int) -> float:
    """Send `signum` to the main process, as a process manager does; return when."""
    assert server.process is not None
    server.process.send_signal(signum)
    return time.monotonic()


def expected_status(case: str, name: str) -> int:
    expected = CASES[case][1][name]
    assert isinstance(expected, int)
    return expected


def has(event: str, count: int = 1) -> Callable[[list[LogLine]], bool]:
    return lambda log: sum(line.event == event for line in log) >= count


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        *_cases("stop-during-startup", "SIGTERM-async", "SIGINT-async", "SIGTERM-sync"),
        pytest.param("uvicorn", "SIGINT-sync", id="uvicorn-SIGINT-sync"),
        pytest.param("uvicorn", "SIGTERM-concurrent", id="uvicorn-SIGTERM-concurrent"),
        pytest.param("uvicorn", "SIGINT-concurrent", id="uvicorn-SIGINT-concurrent"),
    ],
)
def test_stop_during_startup_cancels_rolls_back_and_serves_nothing(
    name: str, kind: str, tmp_path: Path
) -> None:
    """A stop signal while startup hooks run cancels them, rolls back and ends the server."""
    signame, hook_kind = kind.split("-")
    server_kind = SERVERS[name]
    slow_hooks = 2 if hook_kind == "concurrent" else 1
    with running(
        server_kind, APP, tmp_path, RELIABILITY_SLOW="5", RELIABILITY_KIND=hook_kind
    ) as server:
        server.wait_for_log(has("slow begins", slow_hooks * server_kind.workers), "the slow hook")
        signum = signal.Signals[signame]
        if server_kind.workers > 1 and signum == signal.SIGINT:
            # Ctrl+C in a terminal signals the whole group; gunicorn's master alone would
            # turn SIGINT into SIGQUIT for its workers, which the lifespan does not watch.
            os.killpg(server.pid, signum)
            since = time.monotonic()
        else:
            since = send(server, signum)
        status = wait_exit(server, since)
        for pid in set(pids_with(server, "database open")):
            done = events(server, pid)
            assert "ready" not in done, server
            assert "slow ends" not in done, server
            # Phase 0 rolls back in one step: concurrently, under concurrent=True.
            assert sorted(done[-2:]) == ["database closed", "farewell"], server
            if hook_kind != "sync":
                assert done.count("slow cancelled") == slow_hooks, server
        assert len(set(pids_with(server, "database open"))) == server_kind.workers, server
        assert "StopRequested" in server.output(), server
        if server_kind.workers > 1 and signum == signal.SIGINT:
            assert status in GROUP_SIGINT_STATUSES[name], server
        else:
            assert status == expected_status("stop-during-startup", name), server


@pytest.mark.parametrize("name", _cases("stop-during-shutdown"))
def test_stop_during_shutdown_runs_every_shutdown_hook(name: str, tmp_path: Path) -> None:
    """SIGTERM while serving lets a slow shutdown hook finish, then every other one runs."""
    with running(SERVERS[name], APP, tmp_path, RELIABILITY_SLOW_STOP="1") as server:
        serving(server)
        status = wait_exit(server, send(server, signal.SIGTERM))
        for pid in set(pids_with(server, "ready")):
            assert events(server, pid)[-4:] == [
                "slow_stop begins",
                "slow_stop ends",
                "farewell",
                "database closed",
            ], server
        assert status == expected_status("stop-during-shutdown", name), server


@pytest.mark.parametrize(
    ("name", "signame"), _cases("second-signal-during-shutdown", "SIGTERM", "SIGINT")
)
def test_second_signal_during_shutdown_logs_what_ran(
    name: str, signame: str, tmp_path: Path
) -> None:
    """A second signal while the shutdown runs logs which hooks ran and which did not."""
    with running(SERVERS[name], APP, tmp_path, RELIABILITY_SLOW_STOP="2") as server:
        serving(server)
        since = send(server, signal.SIGTERM)
        server.wait_for_log(has("slow_stop begins", server.kind.workers), "the shutdown")
        send(server, signal.Signals[signame])
        status = wait_exit(server, since)
        output = server.output()
        assert f"{signame} during the shutdown of 'web'" in output, server
        assert "not finished (slow_stop, farewell, database)" in output, server
        assert events(server)[-1] == "database closed", server
        assert status == expected_status("second-signal-during-shutdown", name), server


@pytest.mark.parametrize("name", _cases("hung-shutdown"))
def test_hung_shutdown_hook_times_out_and_the_rest_still_runs(name: str, tmp_path: Path) -> None:
    """A shutdown hook that never returns times out; the other hooks run; the server exits."""
    with running(SERVERS[name], APP, tmp_path, RELIABILITY_HANG_STOP="1") as server:
        serving(server)
        status = wait_exit(server, send(server, signal.SIGTERM))
        for pid in set(pids_with(server, "ready")):
            assert events(server, pid)[-3:] == ["hang_stop begins", "farewell", "database closed"]
        assert "hook 'hang_stop' did not finish within the phase budget of 1 s" in server.output()
        assert status == expected_status("hung-shutdown", name), server


def test_hung_startup_hook_times_out_and_rolls_back(tmp_path: Path) -> None:
    """A startup hook that never returns times out, the startup rolls back, uvicorn exits 3."""
    with running(SERVERS["uvicorn"], APP, tmp_path, RELIABILITY_HANG_START="0.5") as server:
        assert server.answer_before_exit() is None, server
        assert events(server) == ["database open", "hang begins", "farewell", "database closed"]
        assert "hook 'hang' did not finish within its timeout of 0.5 s" in server.output(), server
        assert server.poll() == 3, server


@pytest.mark.parametrize("name", list(POOLS))
def test_killed_worker_is_replaced_and_every_worker_shuts_down(name: str, tmp_path: Path) -> None:
    """A worker killed with SIGKILL is replaced by one that runs the startup; SIGTERM stops all."""
    kind = POOLS[name]
    with running(kind, APP, tmp_path) as server:
        serving(server)
        first = pids_with(server, "ready")
        os.kill(first[0], signal.SIGKILL)
        server.wait_for_log(has("ready", kind.workers + 1), "a replacement worker's startup")
        replacement = pids_with(server, "ready")[-1]
        assert replacement not in first, server
        time.sleep(POLL_INTERVAL * 4)  # let the replacement finish its startup
        serving(server)
        wait_exit(server, send(server, signal.SIGTERM))
        for pid in [*first[1:], replacement]:
            assert events(server, pid) == ["database open", "ready", "farewell", "database closed"]
        assert events(server, first[0]) == ["database open", "ready"], server


def test_the_docs_table_is_the_suites_data() -> None:
    """docs/reliability.md shows exactly the outcomes this suite expects."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    start = docs.index("-->\n", docs.index("<!-- reliability-table")) + len("-->\n")
    shown = docs[start : docs.index("<!-- /reliability-table -->")]
    assert shown == render_table(), f"paste this into docs/reliability.md:\n{render_table()}"
