"""Run the worker pool: ``python -m reports_worker`` (``--check`` tests the connections);
``python -m reports_worker webhooks`` runs a webhook delivery worker instead."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import NoReturn

from reports_shared.logs import configure_logging
from reports_shared.settings import CommonSettings, redact_url

from . import settings as worker_settings


def main() -> None:
    """Start ``dramatiq`` with this package's broker, one thread and prefetch 1 per process."""
    arguments = sys.argv[1:]
    if "webhooks" in arguments:
        webhooks(check="--check" in arguments)
    settings = worker_settings.load()
    configure_logging(settings.log_level, settings.log_format)
    if "--check" in arguments:
        _check(settings)
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
    _exec_dramatiq(settings, argv)


def webhooks(check: bool = False) -> NoReturn:
    """Start a webhook delivery worker (``--check``: test its connections instead)."""
    settings = worker_settings.load_webhooks()
    configure_logging(settings.log_level, settings.log_format)
    if check:
        _check(settings)
    # Short I/O-bound attempts: each thread may hold one.
    os.environ.setdefault("dramatiq_queue_prefetch", str(settings.webhook_threads))
    _exec_dramatiq(settings, [
        "dramatiq", "reports_worker.webhooks:setup",
        "--processes", "1",
        "--threads", str(settings.webhook_threads),
        "--skip-logging",
        "--queues", settings.names.webhook_queue,
    ])  # fmt: skip


def _check(settings: CommonSettings) -> NoReturn:
    """Exit 0 if RabbitMQ, Redis and storage answer, else 1. Their clients are imported
    here only: this process otherwise execs dramatiq at once, and importing them cost
    every worker start about 0.7 s of CPU."""
    from reports_shared.checks import check_connections

    sys.exit(0 if check_connections(settings) else 1)


#: glibc's malloc arenas in a worker's processes (its default: 8 per core). Each thread that
#: allocates may take an arena of its own, and a worker's threads change (the job's, its
#: heartbeat's, the helpers' pipe, a deflater per streamed file): with 16 arenas, what a job
#: left scattered in each stayed, and the worker process grew job after job (2 cores: 46 MB
#: idle after its first job, 84 MB after jobs of 45,000 to 600,000 invoices; with 2 arenas
#: 43 and 51 MB). An operator's own MALLOC_ARENA_MAX wins.
MALLOC_ARENAS = "2"


def _exec_dramatiq(settings: CommonSettings, argv: list[str]) -> NoReturn:
    # Read by glibc when a process starts: set before the exec, inherited by every process
    # the worker starts (dramatiq's, the helpers' server and the helpers).
    os.environ.setdefault("MALLOC_ARENA_MAX", MALLOC_ARENAS)
    print(f"starting dramatiq on {redact_url(settings.amqp_url)}: {' '.join(argv)}", flush=True)
    os.execvp(sys.executable, [sys.executable, "-m", *argv])


if __name__ == "__main__":
    main()
