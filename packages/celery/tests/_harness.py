"""Real ``celery worker`` and ``celery beat`` processes, with a filesystem broker in a folder."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

TESTS = Path(__file__).parent
APP_MODULE = "lifecycle_celery_app"
# How long one awaited step (a startup, a task, an exit) may take on a slow machine.
WAIT = 60.0

Event = dict[str, Any]


def of(events: list[Event], kind: str) -> list[Event]:
    """Return the events of one kind, in the order they were recorded."""
    return [event for event in events if event["event"] == kind]


class CeleryProcess:
    """One ``celery`` subprocess, in a process group of its own."""

    def __init__(
        self, harness: Harness, args: list[str], env: dict[str, str], app: str = APP_MODULE
    ) -> None:
        self.harness = harness
        self.args = args
        self.log = harness.data / f"celery-{len(harness.processes)}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", app, *args],
                cwd=harness.data,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(
        self, what: str, predicate: Callable[[list[Event]], bool], timeout: float = WAIT
    ) -> list[Event]:
        """Wait until the recorded events satisfy ``predicate``; fail with the log if not."""
        deadline = time.monotonic() + timeout
        while True:
            events = self.harness.events()
            if predicate(events):
                return events
            if self.proc.poll() is not None:
                pytest.fail(
                    f"celery {self.args[0]} exited with {self.proc.returncode} before {what}; "
                    f"events: {events}\n{self.output()}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {timeout} s; events: {events}\n{self.output()}")
            time.sleep(0.05)

    def wait_exit(self, timeout: float = WAIT) -> int:
        """Wait for the process to exit by itself and return its status."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"celery {self.args[0]} did not exit within {timeout} s\n{self.output()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = WAIT) -> int:
        """Send ``sig`` (a warm shutdown by default) and return the exit status."""
        self.proc.send_signal(sig)
        return self.wait_exit(timeout)

    def kill(self) -> None:
        """Kill the whole process group (the worker and its pool children), if any is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


class Harness:
    """A broker folder, a producer for it, and the celery processes started on it."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.processes: list[CeleryProcess] = []
        queue, processed = data / "queue", data / "processed"
        queue.mkdir()
        processed.mkdir()
        self.queue = queue
        self.producer = Celery("producer", set_as_current=False)
        self.producer.conf.update(
            broker_url="filesystem://",
            broker_transport_options={
                "data_folder_in": str(queue),
                "data_folder_out": str(queue),
                "processed_folder": str(processed),
                # Else kombu writes its broadcast folder into the current directory.
                "control_folder": str(data / "control"),
            },
            task_ignore_result=True,
        )

    def events(self) -> list[Event]:
        path = self.data / "events.jsonl"
        if not path.exists():
            return []
        lines = path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def send(self, task: str, *args: Any) -> None:
        self.producer.send_task(task, args=args)

    def _env(self, fail: str | None, supervisor: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALC_TEST_")}
        env["ALC_TEST_DATA"] = str(self.data)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
        env.pop("ASGI_LIFECYCLE_ENV", None)
        if fail:
            env["ALC_TEST_FAIL"] = fail
        if supervisor:
            env["ALC_TEST_SUPERVISOR"] = "1"
        return env

    def start_worker(
        self,
        pool: str,
        concurrency: int = 2,
        *extra: str,
        fail: str | None = None,
        supervisor: bool = False,
        env: dict[str, str] | None = None,
        app: str = APP_MODULE,
    ) -> CeleryProcess:
        args = [
            "worker",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            *extra,
        ]
        process = CeleryProcess(self, args, {**self._env(fail, supervisor), **(env or {})}, app)
        self.processes.append(process)
        return process

    def start_beat(self, *, fail: str | None = None) -> CeleryProcess:
        args = ["beat", "--loglevel=INFO", f"--schedule={self.data / 'beat-schedule'}"]
        process = CeleryProcess(self, args, self._env(fail, supervisor=False))
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in self.processes:
            process.kill()
        self.producer.close()
