"""Project-level hooks, named in ASGI_LIFECYCLE["MODULES"]."""

import os

from asgi_lifecycle import LifespanContext, lifespan
from djl_site.record import record


@lifespan.on_start(priority=-10)
async def announce(context: LifespanContext) -> None:
    """Record the start of the run, first of all."""
    record(f"start {context.service_type} {context.environment}")


@lifespan.on_start(priority=50, name="djl_site.maybe_fail")
def maybe_fail() -> None:
    """Fail the startup when $DJL_FAIL_STARTUP is set (a failing critical hook)."""
    reason = os.environ.get("DJL_FAIL_STARTUP")
    if reason:
        record("maybe_fail raising")
        raise RuntimeError(f"refusing to start: {reason}")


@lifespan.on_shutdown(priority=-10)
async def goodbye(context: LifespanContext) -> None:
    """Record the end of the run, last of all."""
    record(f"stop {context.service_type} {context.environment}")
