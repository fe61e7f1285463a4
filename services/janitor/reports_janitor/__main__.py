"""Run the janitor: ``python -m reports_janitor`` (``--once`` for one sweep, ``--check``)."""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import asdict

import structlog
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from reports_shared.cache import ReportCache
from reports_shared.checks import check_connections
from reports_shared.errors import ReportsError
from reports_shared.jobstore import JobStore
from reports_shared.logs import configure_logging
from reports_shared.objectstore import ObjectStore

from . import metrics
from . import settings as janitor_settings
from .sweeps import Janitor


def create_janitor(settings: janitor_settings.JanitorSettings) -> Janitor:
    """A janitor wired to the services in ``settings``."""
    broker = RabbitmqBroker(url=settings.amqp_url, confirm_delivery=True, middleware=[])
    jobs = JobStore.from_url(settings.redis_url, settings.names)
    objects = ObjectStore.from_settings(settings)
    cache = ReportCache.from_settings(settings, jobs.client, objects)
    return Janitor(settings, jobs, objects, broker, cache)


def main() -> None:
    """Sweep every AR_JANITOR_INTERVAL_SECONDS until SIGTERM."""
    settings = janitor_settings.load()
    configure_logging(settings.log_level, settings.log_format)
    if "--check" in sys.argv[1:]:
        sys.exit(0 if check_connections(settings) else 1)
    log = structlog.get_logger("reports_janitor")
    janitor = create_janitor(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if settings.janitor_metrics_port:
        metrics.serve(settings.janitor_metrics_port)
    log.info("janitor_ready", interval=settings.janitor_interval_seconds)
    while not stop.is_set():
        try:
            janitor.objects.ensure_bucket()
            counts = janitor.sweep()
            metrics.record_sweep(counts)
            log.info("sweep_done", **asdict(counts))
        except ReportsError as exc:
            metrics.record_failure()
            log.warning("sweep_failed", error=str(exc))
        if "--once" in sys.argv[1:]:
            break
        stop.wait(settings.janitor_interval_seconds)


if __name__ == "__main__":
    main()
