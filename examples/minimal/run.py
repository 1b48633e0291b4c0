"""Serve the minimal example with uvicorn, make one request, stop it, and show what happened.

Run it with `hatch run demo` from the repository root, or `python run.py` here.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
# uvicorn >= 0.29 re-raises SIGTERM after a graceful shutdown, so a clean stop exits with -15.
CLEAN_EXITS = {0, -signal.SIGTERM}


def free_port() -> int:
    """Return a port that nothing on 127.0.0.1 listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def first_response(url: str, server: subprocess.Popen[bytes]) -> httpx.Response:
    """Return the first answer to GET `url`, retrying while the server is starting."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            return httpx.get(url, timeout=5.0)
        except httpx.TransportError:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with status {server.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {START_TIMEOUT} s") from None
            time.sleep(0.1)


def main() -> int:
    """Run the demo; return the process exit status."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(HERE)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    command += ["--lifespan", "on"]  # a failed startup must stop the server, not be ignored
    problems: list[str] = []
    # A file, not a pipe: nobody reads the output while the server runs, and a full pipe blocks it.
    with tempfile.TemporaryFile() as output:
        server = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            response = first_response(f"http://127.0.0.1:{port}/", server)
            answer = f"GET / -> {response.status_code} {response.text!r}"
            if response.status_code != 200:
                problems.append(f"unexpected answer: {answer}")
            server.send_signal(signal.SIGTERM)
            status = server.wait(timeout=STOP_TIMEOUT)
            if status not in CLEAN_EXITS:
                problems.append(f"the server exited with status {status}")
        except (RuntimeError, httpx.HTTPError, subprocess.TimeoutExpired) as exc:
            answer = "no answer"
            problems.append(str(exc))
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(timeout=STOP_TIMEOUT)
        output.seek(0)
        print("--- server output ---")
        print(output.read().decode(errors="replace"), end="")
    print("--- client ---")
    print(answer)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
