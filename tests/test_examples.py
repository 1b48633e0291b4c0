"""The minimal example runs end to end (the shop demo, `hatch run demo`, has tests/test_demo.py)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 120.0


def run_example(script: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` to completion; kill it and the servers it started if it overstays."""
    # Its own process group, so that the server it starts is killed with it on a timeout.
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_minimal_example() -> None:
    """The minimal example runs its hooks around a request under uvicorn and stops cleanly."""
    result = run_example(EXAMPLES / "minimal" / "run.py")

    assert result.returncode == 0, result.stdout + result.stderr
    hook_lines = [line for line in result.stdout.splitlines() if line.startswith("hooks: ")]
    assert hook_lines == [
        "hooks: starting",
        "hooks: greeting ready",
        "hooks: stopping",
        "hooks: greeting closed",
    ]
    assert "GET / -> 200 'Hello from the lifespan state!'" in result.stdout
