"""Run the benchmarks, print the table, and write it as Markdown, JSON and a PNG chart.

    python benchmarks/run.py                 # everything, full size, into benchmarks/results/
    python benchmarks/run.py --only P1,P3    # some of them (written under .cache/)
    python benchmarks/run.py --size quick    # a quicker look (written under .cache/)

Only a full run of every benchmark writes benchmarks/results/: the committed results
always hold the whole table, from one run.

The benchmarks assert nothing: a missed target is reported, not raised.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import _chart
import _report
import bench_core
import bench_django
import bench_import
import bench_listeners
import bench_probe
import bench_request
import bench_runner
import bench_shutdown
import bench_startup
from _harness import (
    DEFAULT_CACHE,
    DEFAULT_OUT,
    Config,
    Peer,
    Section,
    as_json,
    load_average,
    version_of,
)
from _harness import machine as machine_info

BENCHMARKS: dict[str, ModuleType] = {
    module.ID: module
    for module in (
        bench_request,
        bench_django,
        bench_startup,
        bench_runner,
        bench_import,
        bench_shutdown,
        bench_probe,
        bench_listeners,
        bench_core,
    )
}

VERSIONS = (
    "asgi-lifecycle",
    "asgi-lifecycle-django",
    "starlette",
    "fastapi",
    "django",
    "django-asgi-lifespan",
    "prometheus-client",
    "opentelemetry-sdk",
)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--size",
        choices=("tiny", "quick", "full"),
        default="full",
        help="tiny: seconds, for the test; quick: a look; full: the results",
    )
    parser.add_argument("--only", default="", help=f"comma-separated, of {', '.join(BENCHMARKS)}")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where results.md/.json/.png go (default: benchmarks/results for a "
        "full run of every benchmark, benchmarks/.cache/results-<size> otherwise)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE,
        help="where peer environments are built (default: benchmarks/.cache)",
    )
    parser.add_argument(
        "--no-peers",
        action="store_true",
        help="skip the peers that need an environment of their own",
    )
    parser.add_argument("--no-chart", action="store_true", help="do not draw results.png")
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    lower = {name.lower(): name for name in BENCHMARKS}
    unknown = [name for name in wanted if name.lower() not in lower]
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    args.only = [lower[name.lower()] for name in wanted] or list(BENCHMARKS)
    if args.out is None:
        everything = args.size == "full" and args.only == list(BENCHMARKS)
        args.out = DEFAULT_OUT if everything else DEFAULT_CACHE / f"results-{args.size}"
    return args


def _busy(load: str, cores: str, own: int = 0) -> bool:
    """Whether the 1-minute load, less ``own`` (the run's own process), was above half the cores."""
    try:
        return float(load.split(" / ")[0]) - own > int(cores) / 2
    except ValueError:
        return False


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    config = Config(size=args.size, cache_dir=args.cache_dir.resolve())
    info = machine_info()
    info["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{info['cpu']}, {info['cores']} cores, {info['python']}, load {info['load']}")

    peer = Peer(config.cache_dir, enabled=not args.no_peers)
    sections: list[Section] = []
    try:
        if any(BENCHMARKS[name].NEEDS_PEER for name in args.only):
            print("preparing the asgi-lifecycle 0.0.2 environment ...", flush=True)
            peer.start()
        for name in args.only:
            started = time.perf_counter()
            print(f"running {name} ...", end=" ", flush=True)
            sections.append(BENCHMARKS[name].run(config, peer))
            print(f"{time.perf_counter() - started:.1f} s", flush=True)
    finally:
        peer.close()

    info["load_end"] = load_average()
    busy = _busy(info["load"], info["cores"]) or _busy(info["load_end"], info["cores"], own=1)
    versions = {name: version_of(name) for name in VERSIONS}
    versions["and in its own environment: asgi-lifecycle"] = peer.version or "(unavailable)"
    print(_report.text(sections))
    if busy:
        print("\nThe machine was busy while this ran: regenerate the results on a quiet one.")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    # Only the options that shape the results: the others would name this machine's paths.
    hatch = os.environ.get("HATCH_ENV_ACTIVE") == "bench"
    command = "hatch run bench:all" if hatch else "python benchmarks/run.py"
    if args.size != "full":
        command += f" --size {args.size}"
    if args.only != list(BENCHMARKS):
        command += f" --only {','.join(args.only)}"
    if args.no_peers:
        command += " --no-peers"
    (out / "results.md").write_text(
        _report.markdown(sections, info, versions, command, busy), encoding="utf-8"
    )
    (out / "results.json").write_text(as_json(sections, {**info, **versions}), encoding="utf-8")
    written = ["results.md", "results.json"]
    if not args.no_chart:
        try:
            _chart.draw(sections, out / "results.png", f"{info['cpu']}, {info['python']}")
            written.append("results.png")
        except ImportError:
            print("matplotlib is not installed: no chart drawn", file=sys.stderr)
    print(f"\nwritten to {out}: {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
