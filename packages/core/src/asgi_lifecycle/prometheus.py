"""Prometheus metrics of the lifecycle, through ``prometheus_client``.

Install the extra (``pip install "asgi-lifecycle[prometheus]"``) and add one
listener, the same line in every process::

    from asgi_lifecycle import lifespan
    from asgi_lifecycle.prometheus import PrometheusListener

    lifespan.add_listener(PrometheusListener())

The metrics are registered on ``prometheus_client``'s default registry (or the
one given), so whatever exposes that registry (``prometheus_client.make_asgi_app``,
``start_http_server``, the multiprocess collector) exposes them too. Every label
value comes from the code (a hook's or check's name, a service type, a phase),
never from a request, so the number of series is bounded by the number of hooks.

In ``prometheus_client``'s multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set
before ``prometheus_client`` is first imported, as gunicorn and Celery prefork
deployments do), the histograms and counters add up over the processes, and the
gauges count the live processes in each state (``livesum``).

Only this module imports ``prometheus_client``: ``import asgi_lifecycle`` does not.
"""

from __future__ import annotations

import re
import threading
import weakref

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from ._events import CheckResult, LifecycleListener, LifecycleState
from ._report import HookResult, LifecycleReport

__all__ = ("HOOK_BUCKETS", "PHASE_BUCKETS", "PrometheusListener")

HOOK_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
"""The buckets (seconds) of the hook and health check duration histograms."""

PHASE_BUCKETS: tuple[float, ...] = (
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip
"""The buckets (seconds) of the phase (startup, shutdown, rollback) duration histogram."""

_NAMESPACE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_HOOK_LABELS = ("hook", "action", "phase", "service_type")
_STATES = tuple(LifecycleState)


class _Metrics:
    """The metric objects of one namespace on one registry, shared by its listeners."""

    def __init__(self, registry: CollectorRegistry, namespace: str) -> None:
        self.hook_duration = Histogram(
            "hook_duration_seconds",
            "How long each run of a lifecycle hook took, by how it ended.",
            (*_HOOK_LABELS, "outcome"),
            namespace=namespace,
            registry=registry,
            buckets=HOOK_BUCKETS,
        )
        self.hook_failures = Counter(
            "hook_failures",
            "Runs of a lifecycle hook that failed or timed out.",
            _HOOK_LABELS,
            namespace=namespace,
            registry=registry,
        )
        self.hook_timeouts = Counter(
            "hook_timeouts",
            "Runs of a lifecycle hook that timed out.",
            _HOOK_LABELS,
            namespace=namespace,
            registry=registry,
        )
        self.phase_duration = Histogram(
            "phase_duration_seconds",
            "How long each startup, shutdown or rollback took, and whether it failed.",
            ("phase", "service_type", "outcome"),
            namespace=namespace,
            registry=registry,
            buckets=PHASE_BUCKETS,
        )
        self.check_duration = Histogram(
            "check_duration_seconds",
            "How long each run of a health check took, by its status (pass, warn, fail).",
            ("check", "service_type", "status"),
            namespace=namespace,
            registry=registry,
            buckets=HOOK_BUCKETS,
        )
        self.state = Gauge(
            "state",
            "1 for the lifecycle state a service type is in, 0 for the others "
            "(in multiprocess mode: how many live processes are in it).",
            ("service_type", "state"),
            namespace=namespace,
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.ready = Gauge(
            "ready",
            "1 while a service type is ready and no critical health check failed on its "
            "last run (in multiprocess mode: how many live processes are ready).",
            ("service_type",),
            namespace=namespace,
            registry=registry,
            multiprocess_mode="livesum",
        )


_shared: weakref.WeakKeyDictionary[CollectorRegistry, dict[str, _Metrics]] = (
    weakref.WeakKeyDictionary()
)
_shared_lock = threading.Lock()


def _metrics(registry: CollectorRegistry, namespace: str) -> _Metrics:
    with _shared_lock:
        by_namespace = _shared.setdefault(registry, {})
        metrics = by_namespace.get(namespace)
        if metrics is None:
            try:
                metrics = _Metrics(registry, namespace)
            except ValueError as exc:
                raise ValueError(
                    f"PrometheusListener cannot register its metrics under namespace "
                    f"{namespace!r}: {exc}; another collector already uses these names. "
                    f"Give PrometheusListener(namespace=...) another namespace, or a "
                    f"registry of its own"
                ) from exc
            by_namespace[namespace] = metrics
        return metrics


def _phase_failed(report: LifecycleReport) -> bool:
    """Whether a phase failed: a startup that did not complete, a stop with any hook failing."""
    if report.ok:
        return False
    if report.phase != "startup":
        return True
    # A non-critical hook's failure leaves the startup complete; a critical one stops it,
    # and a stop from outside cancels a hook or leaves some skipped.
    return any(
        result.outcome in ("cancelled", "skipped")
        or (result.outcome in ("failed", "timed_out") and result.hook.critical)
        for result in report.results
    )


class PrometheusListener(LifecycleListener):
    """Records every hook, phase, health check and state change as Prometheus metrics.

    Register it with `Lifespan.add_listener`. The metrics (here with the default
    namespace ``asgi_lifecycle``):

    - ``asgi_lifecycle_hook_duration_seconds`` (histogram; labels ``hook``,
      ``action``, ``phase``, ``service_type``, ``outcome``): each hook run.
    - ``asgi_lifecycle_hook_failures_total`` and ``asgi_lifecycle_hook_timeouts_total``
      (counters; labels ``hook``, ``action``, ``phase``, ``service_type``): runs that
      failed or timed out (a timeout counts in both), and runs that timed out.
    - ``asgi_lifecycle_phase_duration_seconds`` (histogram; labels ``phase``,
      ``service_type``, ``outcome`` ``ok`` or ``failed``): each startup, shutdown
      and rollback. A startup failed if it did not complete; a shutdown or a
      rollback, if any of its hooks failed.
    - ``asgi_lifecycle_check_duration_seconds`` (histogram; labels ``check``,
      ``service_type``, ``status``): each health check run.
    - ``asgi_lifecycle_state`` (gauge; labels ``service_type``, ``state``): one-hot,
      1 for the run's `LifecycleState`, 0 for the other four.
    - ``asgi_lifecycle_ready`` (gauge; label ``service_type``): 1 while the run is
      ``ready`` and no critical health check failed when it last ran.

    Listeners of one registry and namespace share their metrics, so adding one
    in each `Lifespan` of a process is fine.

    Args:
        registry: The registry to register the metrics on; ``None`` for
            ``prometheus_client.REGISTRY``.
        namespace: The prefix of every metric name (``""`` for none).

    Raises:
        ValueError: ``namespace`` is not a valid metric name prefix, or another
            collector of the registry already uses the metric names.
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, namespace: str = "asgi_lifecycle"
    ) -> None:
        if not isinstance(namespace, str) or (namespace and not _NAMESPACE.match(namespace)):
            raise ValueError(
                f"PrometheusListener(namespace={namespace!r}): a namespace is the prefix of "
                f"metric names: letters, digits, '_' and ':', not starting with a digit, "
                f"e.g. 'asgi_lifecycle' or 'shop'"
            )
        if registry is not None and not isinstance(registry, CollectorRegistry):
            raise TypeError(
                f"PrometheusListener(registry={registry!r}): pass a "
                f"prometheus_client.CollectorRegistry, or None for the default registry"
            )
        self.registry: CollectorRegistry = REGISTRY if registry is None else registry
        self.namespace = namespace
        self._metrics = _metrics(self.registry, namespace)
        self._lock = threading.Lock()
        self._states: dict[str, LifecycleState] = {}
        self._failing: dict[str, set[str]] = {}  # critical checks failing, per service type

    def __repr__(self) -> str:
        return f"PrometheusListener(namespace={self.namespace!r})"

    def hook_finished(self, result: HookResult) -> None:
        """Observe the hook run's duration; count it if it failed or timed out."""
        metrics = self._metrics
        labels = (result.hook.name, result.action, result.phase, result.service_type)
        metrics.hook_duration.labels(*labels, result.outcome).observe(result.duration)
        # Both counters get a series (at 0) with the hook's first run, so that rate() and
        # increase() see the first failure.
        failures = metrics.hook_failures.labels(*labels)
        timeouts = metrics.hook_timeouts.labels(*labels)
        if result.outcome == "failed":
            failures.inc()
        elif result.outcome == "timed_out":
            failures.inc()
            timeouts.inc()

    def phase_finished(self, report: LifecycleReport) -> None:
        """Observe the phase's duration, by whether it failed."""
        labels = (report.phase, report.service_type, "failed" if _phase_failed(report) else "ok")
        self._metrics.phase_duration.labels(*labels).observe(report.duration)

    def state_changed(self, service_type: str, environment: str, state: LifecycleState) -> None:
        """Set the state gauge (one-hot) and the readiness gauge of the service type."""
        with self._lock:
            self._states[service_type] = state
            if state is LifecycleState.STARTING:
                self._failing.pop(service_type, None)  # a new run: its checks run anew
            for each in _STATES:
                self._metrics.state.labels(service_type, each.value).set(1 if each is state else 0)
            self._set_ready(service_type)

    def check_finished(self, result: CheckResult) -> None:
        """Observe the check's duration; a critical check's result moves the readiness gauge."""
        labels = (result.name, result.service_type, result.status)
        self._metrics.check_duration.labels(*labels).observe(result.duration)
        if not result.critical:
            return
        with self._lock:
            failing = self._failing.setdefault(result.service_type, set())
            if result.status == "fail":
                failing.add(result.name)
            else:
                failing.discard(result.name)
            self._set_ready(result.service_type)

    def _set_ready(self, service_type: str) -> None:
        ready = self._states.get(service_type) is LifecycleState.READY and not self._failing.get(
            service_type
        )
        self._metrics.ready.labels(service_type).set(1 if ready else 0)
