"""Helpers for the tests: the test project, real server processes, an ASGI lifespan driver."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from asgi_lifecycle.types import ASGIApp, Message

PROJECT = Path(__file__).resolve().parent / "project"
MANAGE = PROJECT / "manage.py"
SETTINGS = "djl_site.settings"
# Every wait of a subprocess test is bounded by one of these (seconds).
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def project_env(
    db: Path, log: Path, root: Path = PROJECT, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a process of the test project (found in ``root``)."""
    env = dict(os.environ)
    env.pop("ASGI_LIFECYCLE_ENV", None)
    paths = [str(root), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env.update(
        PYTHONPATH=os.pathsep.join(paths),
        DJANGO_SETTINGS_MODULE=SETTINGS,
        DJL_DB=str(db),
        DJL_LOG=str(log),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def read_events(log: Path) -> list[tuple[int, str]]:
    """The ``(pid, event)`` lines the project's hooks appended to ``log``."""
    if not log.exists():
        return []
    events = []
    for line in log.read_text(encoding="utf-8").splitlines():
        pid, _, event = line.partition(" ")
        events.append((int(pid), event))
    return events


def events_of(log: Path, pid: int) -> list[str]:
    """The events of one process."""
    return [event for p, event in read_events(log) if p == pid]


def run_manage(
    env: Mapping[str, str], out: Path, *args: str, timeout: float = START_TIMEOUT
) -> tuple[int, str]:
    """Run ``manage.py`` to completion (killed, with its group, if it overstays).

    Returns:
        The exit status and the output (stdout and stderr together).
    """
    with Process([sys.executable, str(MANAGE), *args], env, out) as process:
        status = process.wait(timeout)
        return status, process.output()


class Process:
    """A subprocess in its own process group, its output in a file; always killed at exit."""

    def __init__(
        self, args: list[str], env: Mapping[str, str], out: Path, cwd: Path = PROJECT
    ) -> None:
        self.args = args
        self._out = open(out, "w+", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        self.popen = subprocess.Popen(
            args,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.popen.pid

    def __enter__(self) -> Process:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            self.popen.wait(STOP_TIMEOUT)
        else:
            # The group may outlive its leader (runserver's reloaded child).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        self._out.close()

    @property
    def returncode(self) -> int | None:
        """The exit status (negative: killed by that signal), or ``None`` while running."""
        return self.popen.poll()

    def output(self) -> str:
        """Everything the process wrote so far (stdout and stderr)."""
        self._out.flush()
        return Path(self._out.name).read_text(encoding="utf-8")

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Wait for the exit; fail the test (the process is killed at exit) if it overstays."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.args} did not exit within {timeout} s; output:\n{self.output()}"
            ) from None

    def wait_for(
        self, what: str, predicate: Callable[[], bool], timeout: float = START_TIMEOUT
    ) -> None:
        """Poll ``predicate`` until it holds; fail with the output if it does not in time."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.returncode is not None and not predicate():
                raise AssertionError(
                    f"{self.args} exited ({self.returncode}) before {what}:\n{self.output()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {timeout} s; output:\n{self.output()}")
            time.sleep(0.05)


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, str]:
    """GET ``http://127.0.0.1:<port><path>``; return the status and the body."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def serving(port: int) -> Callable[[], bool]:
    """A predicate: something accepts connections on the port."""

    def check() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    return check


class LifespanDriver:
    """Plays an ASGI server's part of the lifespan protocol, in process, and sends requests.

    Args:
        app: The ASGI application.
        state: The lifespan state the server offers (``None``: a server without state).
    """

    def __init__(self, app: ASGIApp, state: dict[str, Any] | None = None) -> None:
        self.app = app
        self.state = state
        self.sent: list[Message] = []
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def _receive(self) -> Message:
        return await self._to_app.get()

    async def _send(self, message: Message) -> None:
        self.sent.append(message)
        await self._from_app.put(message)

    async def _answer(self, timeout: float) -> Message:
        assert self.task is not None
        getter = asyncio.ensure_future(self._from_app.get())
        done, _ = await asyncio.wait(
            {getter, self.task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        if self.task in done:
            raise AssertionError(f"the app returned without answering: {self.task!r}")
        raise AssertionError(f"no answer within {timeout} s")

    async def startup(self, timeout: float = 30.0) -> Message:
        """Send ``lifespan.startup``; return the app's answer."""
        scope: dict[str, Any] = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
        }
        if self.state is not None:
            scope["state"] = self.state
        self.task = asyncio.ensure_future(self.app(scope, self._receive, self._send))
        await self._to_app.put({"type": "lifespan.startup"})
        return await self._answer(timeout)

    async def shutdown(self, timeout: float = 30.0) -> Message:
        """Send ``lifespan.shutdown``; return the app's answer."""
        await self._to_app.put({"type": "lifespan.shutdown"})
        return await self._answer(timeout)

    async def finished(self, timeout: float = 30.0) -> BaseException | None:
        """Wait for the lifespan call to return; return what it raised, if anything."""
        assert self.task is not None
        done, _ = await asyncio.wait({self.task}, timeout=timeout)
        assert done, f"the lifespan call did not return within {timeout} s"
        if self.task.cancelled():
            return asyncio.CancelledError()
        return self.task.exception()

    async def get(self, path: str) -> tuple[int, bytes]:
        """Send one GET request the way a server does (with a copy of the state)."""
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 12345),
            "server": ("127.0.0.1", 80),
        }
        if self.state is not None:
            scope["state"] = dict(self.state)
        requests = [{"type": "http.request", "body": b"", "more_body": False}]
        messages: list[Message] = []

        async def receive() -> Message:
            if requests:
                return requests.pop()
            await asyncio.Event().wait()  # no disconnect while the view runs
            raise AssertionError("unreachable")

        async def send(message: Message) -> None:
            messages.append(message)

        await asyncio.wait_for(self.app(scope, receive, send), 30.0)
        status = next(m["status"] for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        return status, body


def sigterm(process: Process, pid: int | None = None) -> None:
    """Send SIGTERM to ``pid`` (default: the process itself)."""
    os.kill(process.pid if pid is None else pid, signal.SIGTERM)


@contextlib.contextmanager
def env_vars(**values: str | None) -> Iterator[None]:
    """Set (or unset, with ``None``) environment variables for the block."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
