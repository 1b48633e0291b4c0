"""Health and readiness: each run's state, its checks run with a time limit and a cache.

Liveness is "the process and its loop answer, and startup did not fail";
readiness is "startup completed, shutdown has not begun, and every critical
check passes". A failing non-critical check degrades (``warn``) instead.

Checks are cached for a short time-to-live, so a storm of probes cannot hammer
a database, and probes that arrive while a check runs share that one run. Each
check has a timeout, so a hung one never holds a probe past it. The report
follows the IETF draft "Health Check Response Format for HTTP APIs"
(``application/health+json``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Sequence
from time import perf_counter
from typing import Any, Literal

from ._events import CheckResult, CheckStatus, LifecycleState, Listeners, notify
from ._hook import HealthCheck
from ._runner import Run

__all__ = ("HealthMonitor", "HealthReport", "Probe")

Probe = Literal["ready", "live"]

_SEVERITY = {"pass": 0, "warn": 1, "fail": 2}


class HealthReport:
    """What a health probe answers: an overall status and each check's result.

    Attributes:
        probe: ``"ready"`` (readiness) or ``"live"`` (liveness).
        status: ``"pass"``, ``"warn"`` (degraded: a non-critical check failed, still
            serving) or ``"fail"``.
        state: The run's `LifecycleState`.
        service_type: The run's service type.
        environment: The run's environment.
        checks: The result of each check that applies (readiness while ready only).
    """

    __slots__ = ("checks", "environment", "probe", "service_type", "state", "status")

    def __init__(
        self,
        probe: Probe,
        status: CheckStatus,
        state: LifecycleState,
        service_type: str,
        environment: str,
        checks: Sequence[CheckResult] = (),
    ) -> None:
        self.probe: Probe = probe
        self.status: CheckStatus = status
        self.state = state
        self.service_type = service_type
        self.environment = environment
        self.checks = tuple(checks)

    @property
    def ok(self) -> bool:
        """Whether a probe should succeed: the status is ``pass`` or ``warn``."""
        return self.status != "fail"

    @property
    def http_status(self) -> int:
        """200 when the probe succeeds, 503 when it fails."""
        return 200 if self.ok else 503

    def to_dict(self, *, details: bool = False) -> dict[str, Any]:
        """The report as ``application/health+json`` (IETF health check draft).

        Args:
            details: Add each failure's ``output`` (exception type and message) and
                what the checks returned. Off for public responses: error texts can
                name hosts, users or DSNs.
        """
        now = _iso(time.time())
        bad = (
            self.state is not LifecycleState.READY
            if self.probe == "ready"
            else self.state is LifecycleState.FAILED
        )
        state_status: CheckStatus = "fail" if bad else "pass"
        checks: dict[str, list[dict[str, Any]]] = {
            "lifecycle:state": [
                {
                    "componentType": "system",
                    "observedValue": str(self.state),
                    "status": state_status,
                    "time": now,
                }
            ]
        }
        for result in self.checks:
            entry: dict[str, Any] = {
                "componentType": "component",
                "observedValue": round(result.duration * 1000, 3),
                "observedUnit": "ms",
                "status": result.status,
                "time": _iso(result.time),
            }
            if details:
                if result.output is not None:
                    entry["output"] = result.output
                if result.observed is not None:
                    entry["observed"] = result.observed
                entry["critical"] = result.critical
            checks[f"{result.name}:responseTime"] = [entry]
        probe = "readiness" if self.probe == "ready" else "liveness"
        return {
            "status": self.status,
            "serviceId": self.service_type,
            "description": f"{probe} of {self.service_type!r} ({self.environment})",
            "checks": checks,
        }

    def to_json(self, *, details: bool = False) -> str:
        """`to_dict` as JSON text."""
        import json

        return json.dumps(self.to_dict(details=details), indent=None, separators=(",", ":"))

    def __str__(self) -> str:
        probe = "readiness" if self.probe == "ready" else "liveness"
        lines = [f"{probe} of {self.service_type!r} ({self.environment}): {self.status}"]
        lines.append(f"  {'state':<40} {self.state}")
        for result in self.checks:
            line = f"  {result.name:<40} {result.status:<5} {result.duration * 1000:8.1f} ms"
            if result.output is not None:
                line += f"  {result.output}"
            lines.append(line)
        return "\n".join(lines)


def _iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


class _Entry:
    """The cached result of one check of one run, and the run of it in flight."""

    __slots__ = ("at", "inflight", "result")

    def __init__(self) -> None:
        self.result: CheckResult | None = None
        self.at = 0.0
        self.inflight: concurrent.futures.Future[CheckResult] | None = None


class HealthMonitor:
    """The states of a `Lifespan`'s runs, and its checks' cache.

    Attributes:
        ttl: Seconds a check's result is served from the cache.
        latest: The run key that most recently began its startup, if any.
    """

    def __init__(self, ttl: float = 1.0) -> None:
        self.ttl = ttl
        self.latest: tuple[str, str] | None = None
        self._states: dict[tuple[str, str], LifecycleState] = {}
        self._entries: dict[tuple[str, str, str], _Entry] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Forget every state and cached result (tests, and a forked child)."""
        self._lock = threading.Lock()
        self._states.clear()
        self._entries.clear()
        self.latest = None

    def state(self, key: tuple[str, str]) -> LifecycleState:
        """The state of a run; ``starting`` for one that never began."""
        return self._states.get(key, LifecycleState.STARTING)

    def set_state(self, key: tuple[str, str], state: LifecycleState, listeners: Listeners) -> None:
        """Move a run to ``state`` and tell the listeners, if it changed."""
        with self._lock:
            if self._states.get(key) is state:
                return
            self._states[key] = state
            if state is LifecycleState.STARTING:
                self.latest = key
                self._entries = {k: v for k, v in self._entries.items() if k[:2] != key}
        if listeners.state_changed:
            notify(listeners.state_changed, key[0], key[1], state)

    def keys(self) -> list[tuple[str, str]]:
        """Every run key that has a state."""
        return list(self._states)

    def liveness(self, key: tuple[str, str]) -> HealthReport:
        """Liveness: the process answers; it fails only after a failed startup."""
        state = self.state(key)
        status: CheckStatus = "fail" if state is LifecycleState.FAILED else "pass"
        return HealthReport("live", status, state, key[0], key[1])

    async def readiness(
        self,
        key: tuple[str, str],
        checks: Sequence[HealthCheck],
        run: Run | None,
        listeners: Listeners,
    ) -> HealthReport:
        """Readiness: ready, and every critical check passes (run, or from the cache)."""
        state = self.state(key)
        if state is not LifecycleState.READY or run is None:
            return HealthReport("ready", "fail", state, key[0], key[1])
        if not checks:
            return HealthReport("ready", "pass", state, key[0], key[1])
        # Served from the cache where fresh: a probe that needs no check run awaits nothing.
        results = [self._cached(key, check) for check in checks]
        due = [i for i, result in enumerate(results) if result is None]
        if len(due) == 1:
            results[due[0]] = await self._check(key, checks[due[0]], run, listeners)
        elif due:
            ran = await asyncio.gather(*(self._check(key, checks[i], run, listeners) for i in due))
            for i, result in zip(due, ran, strict=True):
                results[i] = result
        done = [result for result in results if result is not None]  # every one, now
        worst = max((_SEVERITY[r.status] for r in done), default=0)
        status: CheckStatus = ("pass", "warn", "fail")[worst]
        if self.state(key) is not LifecycleState.READY:  # shutdown began meanwhile
            status = "fail"
        return HealthReport("ready", status, self.state(key), key[0], key[1], done)

    def _cached(self, key: tuple[str, str], check: HealthCheck) -> CheckResult | None:
        entry = self._entries.get((*key, check.name))
        if entry is not None and entry.result is not None and perf_counter() - entry.at < self.ttl:
            return entry.result
        return None

    async def _check(
        self, key: tuple[str, str], check: HealthCheck, run: Run, listeners: Listeners
    ) -> CheckResult:
        with self._lock:
            entry = self._entries.setdefault((*key, check.name), _Entry())
            if entry.result is not None and perf_counter() - entry.at < self.ttl:
                return entry.result
            inflight = entry.inflight
            if inflight is None:
                future: concurrent.futures.Future[CheckResult] = concurrent.futures.Future()
                entry.inflight = future
        if inflight is not None:  # another probe runs this check now: share its answer
            try:
                async with asyncio.timeout(check.timeout + 0.5):
                    return await asyncio.shield(asyncio.wrap_future(inflight))
            except TimeoutError:
                return self._result(check, run, "fail", 0.0, TimeoutError(_late(check)))
        try:
            result = await self._run(check, run)
        except BaseException as exc:
            with self._lock:
                entry.inflight = None
            future.set_exception(exc)
            raise
        with self._lock:
            entry.result, entry.at, entry.inflight = result, perf_counter(), None
        future.set_result(result)
        if listeners.check_finished:
            notify(listeners.check_finished, result)
        return result

    async def _run(self, check: HealthCheck, run: Run) -> CheckResult:
        """Run one check within its timeout, on this loop (a sync one through the run's runner)."""
        missing = [name for name in check.after if name in run.failed]
        if missing:
            return self._result(
                check, run, "fail", 0.0, reason=f"needs {missing[0]!r}, which did not start"
            )
        args: tuple[Any, ...] = ()
        if check.resource is not None:
            if check.resource not in run.values:
                return self._result(
                    check, run, "fail", 0.0, reason=f"its resource {check.resource!r} is not up"
                )
            if check.takes_argument:
                args = (run.values[check.resource],)
        elif check.takes_argument:
            args = (run.context,)
        func = check.func
        started = perf_counter()
        value: Any = None
        error: BaseException | None = None
        try:
            async with asyncio.timeout(check.timeout):
                if check.is_async:
                    value = await func(*args)
                else:
                    value = await run.sync_runner(lambda: func(*args))
        except TimeoutError:
            error = TimeoutError(_late(check))
        except Exception as exc:
            error = exc
        duration = perf_counter() - started
        if error is not None:
            return self._result(check, run, "fail", duration, error)
        if value is False:
            return self._result(check, run, "fail", duration, reason="it returned False")
        observed = value if isinstance(value, int | float | str) and value is not True else None
        return self._result(check, run, "pass", duration, observed=observed)

    def _result(
        self,
        check: HealthCheck,
        run: Run,
        status: CheckStatus,
        duration: float,
        error: BaseException | None = None,
        *,
        reason: str | None = None,
        observed: float | str | None = None,
    ) -> CheckResult:
        if status == "fail" and not check.critical:
            status = "warn"
        return CheckResult(
            check.name, status, check.critical, duration, time.time(), run.key[0], run.key[1],
            error, reason, observed,
        )  # fmt: skip


def _late(check: HealthCheck) -> str:
    where = "; it is sync, so its thread may still be running" if not check.is_async else ""
    return f"health check {check.name!r} did not answer within {check.timeout:g} s{where}"
