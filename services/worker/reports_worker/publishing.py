"""Recording a finished run: its figures, and Completed with its ZIP, fenced by the run."""

from __future__ import annotations

import time

import structlog

from reports_shared.constants import JobStatus
from reports_shared.errors import JobStoreUnavailable, RunFenced, TransitionRefused
from reports_shared.jobs import JobRecord, PerformanceMetrics, utcnow
from reports_shared.results import ReportResult, publish_result

from .building.pipeline import BuildOutcome
from .services import Services

log = structlog.get_logger(__name__)

_RUNNING = frozenset({JobStatus.PROCESSING})

#: Seconds between attempts to record a finished build while Redis is away.
PUBLISH_RETRY_SECONDS = 0.5


def publish_run(services: Services, record: JobRecord, result: ReportResult) -> bool:
    """Mark the job Completed with this run's ZIP, waiting for Redis if it is away (the
    build is not done again); False when the result does not count (its ZIP is deleted)."""
    settings = services.settings
    deadline = time.monotonic() + settings.dependency_wait_seconds
    while True:
        try:
            publish_result(
                services.jobs, record, _RUNNING, result, settings.job_ttl_seconds, record.run_id
            )
            return True
        except RunFenced:
            services.objects.delete(result.result_key)  # this run's own: the winner's is apart
            log.info("job_run_fenced", job_id=record.job_id, at="publish")
            return False
        except TransitionRefused as exc:
            # Cancelled or expired meanwhile: nobody will download this one.
            services.objects.delete(result.result_key)
            log.info("job_result_discarded", job_id=record.job_id, status=str(exc))
            return False
        except JobStoreUnavailable as exc:
            if time.monotonic() > deadline:
                raise
            log.warning("publish_waits_for_redis", job_id=record.job_id, error=str(exc))
            time.sleep(PUBLISH_RETRY_SECONDS)


def run_metrics(
    record: JobRecord, outcome: BuildOutcome, seconds: float, peak_rss: int
) -> PerformanceMetrics:
    """The figures of one finished build, as the status shows them."""
    started = record.started_at or utcnow()
    return PerformanceMetrics(
        processing_time_ms=int(seconds * 1000),
        memory_usage_mb=round(peak_rss / 1024 / 1024, 1),
        records_processed=outcome.records_processed,
        queue_wait_ms=max(0, int((started - record.created_at).total_seconds() * 1000)),
        input_bytes=record.payload_bytes,
        records_per_second=round(outcome.records_processed / seconds, 1) if seconds > 0 else 0.0,
    )
