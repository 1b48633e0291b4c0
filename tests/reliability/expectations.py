"""What each server does with each fault: the data the suite asserts and the docs table shows.

A cell is either the exit status the server's main process ends with (the fault was
handled: hooks cancelled, rolled back or finished as the case says), or a `Gap`: what the
server cannot do, and why. Gaps are strict expected failures, so a fix upstream shows.
``docs/reliability.md`` holds `render_table()`'s output; a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._servers import ServerKind, gunicorn_options

APP = "reliability_app:app"


@dataclass(frozen=True)
class Gap:
    """Something a server cannot do, with the reason (shown in the docs and the xfail).

    Attributes:
        reason: What the server does instead, and why.
        link: Where upstream the cause is to be seen.
    """

    reason: str
    link: str


UVICORN = "-m uvicorn {app} --host 127.0.0.1 --port {port}"
GUNICORN = (
    "-m gunicorn --worker-class uvicorn_worker.UvicornWorker --workers 2 "
    "--bind 127.0.0.1:{port} {app}"
)
GRANIAN = "-m granian --interface asgi --host 127.0.0.1 --port {port} {app}"
SERVERS: dict[str, ServerKind] = {
    kind.name: kind
    for kind in (
        ServerKind("uvicorn", UVICORN),
        ServerKind("hypercorn", "-m hypercorn {app} --bind 127.0.0.1:{port}"),
        ServerKind(
            "hypercorn --workers 0", "-m hypercorn {app} --workers 0 --bind 127.0.0.1:{port}"
        ),
        ServerKind("granian", GRANIAN),
        ServerKind("gunicorn -w 2", GUNICORN, workers=2, options=gunicorn_options),
    )
}
# Two workers each; the SIGKILL case kills one and waits for its replacement.
POOLS: dict[str, ServerKind] = {
    kind.name: kind
    for kind in (
        ServerKind("uvicorn --workers 2", UVICORN + " --workers 2", workers=2),
        ServerKind("gunicorn -w 2", GUNICORN, workers=2, options=gunicorn_options),
        ServerKind(
            "granian --workers 2 --respawn-failed-workers",
            GRANIAN + " --workers 2 --respawn-failed-workers",
            workers=2,
        ),
    )
}

HYPERCORN_CHILD = Gap(
    "hypercorn's default runs the app in one child process and handles SIGTERM and SIGINT "
    "in the parent, which tells the child through an event it reads only once serving: the "
    "startup runs to its end first. `hypercorn --workers 0` runs the app in the process that "
    "gets the signal.",
    "https://github.com/pgjones/hypercorn/blob/main/src/hypercorn/run.py",
)


def master_only(link: str) -> Gap:
    """The second signal of a server whose workers are child processes of a master."""
    return Gap(
        "the second signal reaches the master process only; its workers, still shutting "
        "down, never see it (a terminal's Ctrl+C, sent to the whole process group, does "
        "reach them)",
        link,
    )


# The fault cases: a title for the docs, and per server the expected exit status or a gap.
CASES: dict[str, tuple[str, dict[str, int | Gap]]] = {
    "stop-during-startup": (
        "SIGTERM or SIGINT while a startup hook runs: the hook is cancelled (a sync hook "
        "abandoned), what started is rolled back, nothing is served",
        {
            "uvicorn": 3,
            "hypercorn": HYPERCORN_CHILD,
            "hypercorn --workers 0": 1,
            "granian": 0,
            "gunicorn -w 2": 1,
        },
    ),
    "stop-during-shutdown": (
        "SIGTERM while serving, with a 1 s shutdown hook: every shutdown hook runs to its end",
        {
            "uvicorn": -15,
            "hypercorn": 0,
            "hypercorn --workers 0": 0,
            "granian": 0,
            "gunicorn -w 2": 0,
        },
    ),
    "second-signal-during-shutdown": (
        "a second signal while a shutdown hook runs: the log says which hooks ran and which "
        "did not, then the shutdown goes on",
        {
            "uvicorn": -15,
            "hypercorn": master_only(HYPERCORN_CHILD.link),
            "hypercorn --workers 0": 0,
            "granian": master_only(
                "https://github.com/emmett-framework/granian#workers-and-threads"
            ),
            "gunicorn -w 2": master_only(
                "https://github.com/benoitc/gunicorn/blob/master/gunicorn/arbiter.py"
            ),
        },
    ),
    "hung-shutdown": (
        "a shutdown hook that never returns, under a 1 s shutdown budget: it times out, every "
        "other shutdown hook still runs, the server exits",
        {
            "uvicorn": -15,
            "hypercorn": 0,
            "hypercorn --workers 0": 1,
            "granian": 0,
            "gunicorn -w 2": 0,
        },
    ),
}
POOL_CASE = (
    "a worker killed with SIGKILL is replaced, its replacement runs the startup, and SIGTERM "
    "to the master runs every live worker's shutdown"
)


# A terminal's Ctrl+C during the startup signals the master and its workers at once. The
# hooks are cancelled and rolled back in every worker either way; the master's status
# depends on what it handles first: its own SIGINT (a stop: 0), or a worker that exited
# with gunicorn's boot-error status (3, or 1; see docs/deployment.md).
GROUP_SIGINT_STATUSES = {"gunicorn -w 2": (0, 1, 3)}


def _cell(expected: int | Gap) -> str:
    if isinstance(expected, Gap):
        return f"no: {expected.reason} ([upstream]({expected.link}))"
    return f"yes, exit status {expected}"


def render_table() -> str:
    """The docs table: one row per server, one column per case."""
    names = list(SERVERS)
    lines = ["| case | " + " | ".join(f"`{name}`" for name in names) + " |"]
    lines.append("|---" * (len(names) + 1) + "|")
    for title, expected in CASES.values():
        lines.append(f"| {title} | " + " | ".join(_cell(expected[n]) for n in names) + " |")
    lines.append("")
    lines.append("| server | " + POOL_CASE + " |")
    lines.append("|---|---|")
    lines.extend(f"| `{name}` | yes |" for name in POOLS)
    return "\n".join(lines) + "\n"
