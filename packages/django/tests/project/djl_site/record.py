"""Appends what the hooks do to the file named by $DJL_LOG, one line per event."""

import os


def record(event: str) -> None:
    """Append ``<pid> <event>`` to $DJL_LOG (if set)."""
    path = os.environ.get("DJL_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {event}\n")
