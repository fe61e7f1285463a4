"""Run the worker pool: ``python -m reports_worker`` (``--check`` tests the connections)."""

from __future__ import annotations

import os
import sys
import tempfile

from reports_shared.checks import check_connections
from reports_shared.logs import configure_logging
from reports_shared.settings import redact_url

from . import settings as worker_settings


def main() -> None:
    """Start ``dramatiq`` with this package's broker, one thread and prefetch 1 per process."""
    settings = worker_settings.load()
    configure_logging(settings.log_level, settings.log_format)
    if "--check" in sys.argv[1:]:
        sys.exit(0 if check_connections(settings) else 1)
    # Heavy jobs: each process takes one message at a time; delayed ones (waiting for a slot)
    # are few, so a small prefetch on the delay queues keeps them spread across workers.
    os.environ.setdefault("dramatiq_queue_prefetch", "1")
    os.environ.setdefault("dramatiq_delay_queue_prefetch", "10")
    if settings.worker_metrics_port:
        # Dramatiq's Prometheus middleware reads these when its module is imported.
        os.environ["dramatiq_prom_port"] = str(settings.worker_metrics_port)  # noqa: SIM112
        os.environ.setdefault("dramatiq_prom_db", tempfile.mkdtemp(prefix="dramatiq-prometheus-"))
    names = settings.names
    queues = [names.queue(lane) for lane in worker_settings.Lane]
    argv = [
        "dramatiq",
        "reports_worker.app:setup",
        "--processes", str(settings.worker_processes),
        "--threads", str(settings.worker_threads),
        "--skip-logging",
        "--worker-shutdown-timeout", str(settings.job_time_limit_seconds * 1000),
        "--queues", *queues,
    ]  # fmt: skip
    print(f"starting dramatiq on {redact_url(settings.amqp_url)}: {' '.join(argv)}", flush=True)
    os.execvp(sys.executable, [sys.executable, "-m", *argv])


if __name__ == "__main__":
    main()
