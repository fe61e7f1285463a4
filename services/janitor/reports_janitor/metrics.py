"""The janitor's counts as Prometheus metrics (served when AR_JANITOR_METRICS_PORT is set)."""

from __future__ import annotations

from dataclasses import asdict

from prometheus_client import Counter, Gauge, start_http_server

from .sweeps import SweepCounts

_DONE = Counter(
    "async_reports_janitor_actions_total",
    "What the janitor did, by kind (expired, requeued, failed, orphans, cache_expired, "
    "cache_missing).",
    ["kind"],
)
_SWEEPS = Counter("async_reports_janitor_sweeps_total", "Sweeps, by outcome.", ["outcome"])
_LAST = Gauge("async_reports_janitor_last_sweep_timestamp_seconds", "End of the last sweep.")


def serve(port: int) -> None:
    """Expose the metrics on ``port`` (all interfaces), in a background thread."""
    start_http_server(port)


def record_sweep(counts: SweepCounts) -> None:
    """Add one successful sweep's counts."""
    for kind, value in asdict(counts).items():
        _DONE.labels(kind=kind).inc(value)
    _SWEEPS.labels(outcome="ok").inc()
    _LAST.set_to_current_time()


def record_failure() -> None:
    """Count a sweep that failed (a dependency was down)."""
    _SWEEPS.labels(outcome="failed").inc()
