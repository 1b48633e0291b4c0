"""What every benchmark shares: rows, sizes, statistics, alternation, the peer environment."""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / ".cache"
DEFAULT_OUT = HERE / "results"

Size = Literal["tiny", "quick", "full"]
Verdict = Literal["pass", "within noise", "MISS", "info", "skipped"]
T = TypeVar("T")


@dataclass
class Row:
    """One line of the results table.

    Attributes:
        id: A stable identifier (``"P1.ours"``); the test looks rows up by it.
        case: What was measured, for a reader.
        value: The median, in ``unit``; ``None`` when the case was skipped.
        unit: The unit of ``value``.
        shown: ``value`` as the table shows it (with its spread, if any).
        ref: What ``ratio`` compares against.
        ratio: This case over ``ref``.
        target: The target this row checks, if any.
        verdict: ``pass``, ``within noise``, ``MISS``, ``info`` or ``skipped``.
        note: Why it was skipped, or what the number means.
    """

    id: str
    case: str
    value: float | None
    unit: str
    shown: str = ""
    ref: str = ""
    ratio: float | None = None
    target: str = ""
    verdict: Verdict = "info"
    note: str = ""


@dataclass
class Section:
    """The rows of one benchmark, its notes, and the series the chart draws."""

    id: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chart: dict[str, Any] = field(default_factory=dict)
    # A table of its own, shown above the rows: (headers, rows of cells).
    table: tuple[tuple[str, ...], list[tuple[str, ...]]] | None = None

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def skip(self, id: str, case: str, why: str, target: str = "") -> Row:
        return self.add(
            Row(id, case, None, "", "skipped", target=target, verdict="skipped", note=why)
        )


@dataclass(frozen=True)
class Config:
    """How big a run is: ``tiny`` (the test), ``quick`` (a look), ``full`` (the results)."""

    size: Size
    cache_dir: Path

    def pick(self, tiny: T, quick: T, full: T) -> T:
        return {"tiny": tiny, "quick": quick, "full": full}[self.size]


# -- statistics ---------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def median_ci(values: Sequence[float]) -> tuple[float, float]:
    """A distribution-free 95 % confidence interval of the median (binomial order statistics)."""
    ordered = sorted(values)
    n = len(ordered)
    if n < 6:
        return ordered[0], ordered[-1]
    half = 1.96 * math.sqrt(n) / 2
    low = max(0, math.floor(n / 2 - half) - 1)
    high = min(n - 1, math.ceil(n / 2 + half))
    return ordered[low], ordered[high]


def paired(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Round-by-round differences ``a - b`` (both sides were measured in the same round)."""
    return [x - y for x, y in zip(a, b, strict=True)]


def ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Round-by-round ratios ``a / b``."""
    return [x / y for x, y in zip(a, b, strict=True)]


def at_most(difference: Sequence[float]) -> Verdict:
    """Verdict for "A no more than B", from the paired differences A - B."""
    low, _ = median_ci(difference)
    if median(difference) <= 0:
        return "pass"
    return "within noise" if low <= 0 else "MISS"


def within(values: Sequence[float], bound: float) -> Verdict:
    """Verdict for "the median is at most ``bound``"."""
    if median(values) <= bound:
        return "pass"
    low, _ = median_ci(values)
    return "within noise" if low <= bound else "MISS"


# -- alternation ------------------------------------------------------------------------

Measure = Callable[[], Awaitable[Mapping[str, float]]]


def one(name: str, measure: Callable[[], Awaitable[float]]) -> tuple[str, Measure]:
    """A variant that yields one number per round, under ``name``."""

    async def run() -> Mapping[str, float]:
        return {name: await measure()}

    return name, run


async def alternate(
    rounds: int, variants: Sequence[tuple[str, Measure]], warmup: int = 1
) -> dict[str, list[float]]:
    """Run every variant once per round, rotating their order; return the samples per key.

    Rotating the order keeps any drift (a warming cache, a neighbour's load) from
    favouring one side. The first ``warmup`` rounds are thrown away. The garbage
    collector runs before each measurement, outside of it.
    """
    samples: dict[str, list[float]] = {}
    for index in range(-warmup, rounds):
        shift = index % len(variants)
        for _, measure in [*variants[shift:], *variants[:shift]]:
            gc.collect()
            values = await measure()
            if index >= 0:
                for key, value in values.items():
                    samples.setdefault(key, []).append(value)
    return samples


# -- the machine ------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
            return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    return {
        "cpu": cpu_model(),
        "cores": str(os.cpu_count() or "?"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(terse=True),
        "load": load_average(),
    }


# -- the peer environment ---------------------------------------------------------------

PEER_REQUIREMENT = "asgi-lifecycle==0.0.2"
PEER_SCRIPT = HERE / "peer_v002.py"


class PeerError(RuntimeError):
    """The peer worker failed."""


class PeerEnvironmentError(PeerError):
    """The peer environment could not be built (PyPI out of reach, say)."""


ENVIRONMENT_UNAVAILABLE = "could not build the asgi-lifecycle 0.0.2 environment"


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(name, None)
    return env


def _run(command: list[str], timeout: float) -> None:
    try:
        subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=True, env=_clean_env()
        )
    except subprocess.CalledProcessError as exc:
        output = (exc.stderr or exc.stdout).strip()
        raise PeerEnvironmentError(f"{' '.join(command)} failed: {output}") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PeerEnvironmentError(f"{' '.join(command)} failed: {exc}") from exc


def _venv_python(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def peer_environment(cache_dir: Path) -> Path:
    """Return the Python of a virtualenv holding asgi-lifecycle 0.0.2, building it if needed.

    It lives in the cache directory, one per interpreter version, and is built from PyPI
    with uv when uv is on PATH, else with venv and pip. It is built under a temporary
    name and renamed, so that an interrupted build is never taken for a finished one.
    """
    tag = f"{sys.implementation.name}{sys.version_info[0]}{sys.version_info[1]}"
    venv = cache_dir / f"peer-asgi-lifecycle-0.0.2-{tag}"
    python = _venv_python(venv)
    marker = venv / "bench-ready"
    if marker.is_file() and python.exists():
        return python
    cache_dir.mkdir(parents=True, exist_ok=True)
    building = cache_dir / f".building-{tag}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    try:
        uv = shutil.which("uv")
        if uv is not None:
            _run([uv, "venv", "--quiet", "--python", sys.executable, str(building)], 300)
            _run(
                [
                    uv,
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(_venv_python(building)),
                    PEER_REQUIREMENT,
                ],
                300,
            )
        else:
            _run([sys.executable, "-m", "venv", str(building)], 300)
            _run(
                [
                    str(_venv_python(building)),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    PEER_REQUIREMENT,
                ],
                300,
            )
        # Only the interpreter is used, never the venv's scripts, so moving it is safe.
        (building / "bench-ready").write_text(PEER_REQUIREMENT + "\n", encoding="utf-8")
        shutil.rmtree(venv, ignore_errors=True)
        try:
            os.replace(building, venv)
        except OSError:
            if not marker.is_file():  # nobody else finished it meanwhile
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return python


class Worker:
    """A measuring subprocess, driven by one JSON command per line on stdin.

    The main process and the worker take turns: while one measures, the other waits on
    the pipe, so the two sides of a comparison never run at the same time.

    Attributes:
        reason: Why the worker is not available, once it failed to start.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.reason = ""
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._readers: list[threading.Thread] = []

    @property
    def available(self) -> bool:
        return self._process is not None

    def spawn(self, command: list[str]) -> None:
        """Start the worker process and the threads reading its output."""
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=_clean_env(),
        )
        stdout, stderr = self._process.stdout, self._process.stderr
        if stdout is None or stderr is None:  # pragma: no cover - both are pipes
            raise PeerError("the worker has no pipes")
        self._readers = [
            threading.Thread(target=self._pump, args=(stdout, self._lines), daemon=True),
            threading.Thread(target=self._drain, args=(stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _local(self, error: BaseException) -> str:
        """The error's text without this machine's paths: it ends up in the results."""
        text = str(error)
        for path, name in ((self.cache_dir, "<cache-dir>"), (HERE, "benchmarks"),
                           (Path(sys.executable).parent, "<python>")):  # fmt: skip
            text = text.replace(str(path), name)
        return text

    @staticmethod
    def _pump(stream: Iterable[str], lines: queue.Queue[str | None]) -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    def _drain(self, stream: Iterable[str]) -> None:
        for line in stream:
            self._stderr.append(line)
            del self._stderr[:-50]

    def call(self, op: str, timeout: float = 600.0, **args: Any) -> dict[str, Any]:
        """Send one command; return the worker's answer."""
        process = self._process
        if process is None or process.stdin is None:
            raise PeerError(self.reason or "the worker is not running")
        try:
            process.stdin.write(json.dumps({"op": op, **args}) + "\n")
            process.stdin.flush()
            line = self._lines.get(timeout=timeout)
        except (OSError, queue.Empty) as exc:
            raise PeerError(f"worker: no answer to {op!r} ({exc!r})") from exc
        if line is None:
            raise PeerError(f"worker exited: {''.join(self._stderr).strip()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise PeerError(f"worker failed on {op!r}: {answer['error']}")
        return answer

    def prepare(self, op: str, **args: Any) -> str:
        """Send a setup command; return why the worker cannot take part, or ``""``."""
        if not self.available:
            return self.reason
        try:
            self.call(op, **args)
        except PeerError as exc:
            print(f"warning: {exc}", file=sys.stderr)
            return self._local(exc)
        return ""

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait(timeout=10)
        for reader in self._readers:
            reader.join(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


class Peer(Worker):
    """The asgi-lifecycle 0.0.2 worker: a `Worker` in an environment of its own."""

    def __init__(self, cache_dir: Path, enabled: bool = True) -> None:
        super().__init__(cache_dir)
        self.enabled = enabled
        self.reason = "" if enabled else "peer environments disabled (--no-peers)"
        self.python: Path | None = None
        self.version = ""

    def start(self) -> None:
        """Build the environment and start the worker; on failure, remember why."""
        if not self.enabled or self._process is not None:
            return
        try:
            self.python = peer_environment(self.cache_dir)
            self.spawn([str(self.python), "-I", str(PEER_SCRIPT)])
            hello = self.call("hello", timeout=60)
            self.version = str(hello["version"])
            if self.version != "0.0.2":
                raise PeerError(f"the peer environment holds asgi-lifecycle {self.version}")
        except PeerEnvironmentError as exc:
            self.close()
            self.reason = f"{ENVIRONMENT_UNAVAILABLE}: {self._local(exc)}"
            print(f"warning: {self.reason}", file=sys.stderr)
        except (PeerError, OSError) as exc:
            self.close()
            self.reason = f"the asgi-lifecycle 0.0.2 worker failed: {self._local(exc)}"
            print(f"warning: {self.reason}", file=sys.stderr)


def as_json(sections: Sequence[Section], info: Mapping[str, Any]) -> str:
    return json.dumps(
        {"machine": info, "sections": [asdict(section) for section in sections]}, indent=2
    )
