"""Publishing a finished report: download token first, then Completed, atomically."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .cache import CacheEntry, ReportCache
from .constants import JobStatus
from .errors import TransitionRefused
from .jobs import JobRecord, PerformanceMetrics, utcnow
from .jobstore import JobStore
from .jobstore.records import epoch
from .reportcopy import file_name_for

_SERVABLE = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})


@dataclass(frozen=True, slots=True)
class ReportResult:
    """A ZIP in storage, ready to be handed to a job."""

    result_key: str
    file_name: str
    size_bytes: int
    records_processed: int
    records_rejected: int
    metrics: PerformanceMetrics
    from_cache: bool = False


def publish_result(
    jobs: JobStore,
    record: JobRecord,
    allowed: Set[JobStatus],
    result: ReportResult,
    ttl_seconds: int,
    fence: str | None = None,
) -> None:
    """Mark the job Completed with its ZIP (already whole in storage); TransitionRefused if
    it moved on meanwhile (cancelled, expired), RunFenced if run ``fence`` lost it."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl_seconds)
    message = (
        "Reporte obtenido del caché (mismos datos y tipo que un reporte reciente)"
        if result.from_cache
        else "Reporte generado exitosamente"
    )
    fields: dict[str, Any] = {
        "message": message,
        "completedAt": now,
        "expiresAt": expires,
        "fileName": result.file_name,
        "fileSizeBytes": result.size_bytes,
        "resultKey": result.result_key,
        "recordsProcessed": result.records_processed,
        "recordsRejected": result.records_rejected,
        "bytesProcessed": record.payload_bytes,
        "deliveries": 0,
        "fromCache": result.from_cache,
        "performanceMetrics": result.metrics,
        "leaseExpiresAt": None,
    }
    jobs.transition(record, allowed, JobStatus.COMPLETED, fields, epoch(expires), fence)


def serve_from_cache(
    jobs: JobStore,
    cache: ReportCache,
    record: JobRecord,
    entry: CacheEntry,
    ttl_seconds: int,
) -> None:
    """Complete a job with a copy of a cached ZIP: no build, no slot, no worker time.

    Raises StaleCacheEntry (and evicts the entry) when storage no longer has that ZIP, and
    TransitionRefused (the copy deleted) when the job was cancelled meanwhile.
    """
    file_name = file_name_for(entry.file_name, record.job_id)
    result_key = jobs.names.result_key(record.job_id, file_name)
    size = cache.serve(entry, result_key, record.job_id)
    wait = utcnow() - record.created_at
    result = ReportResult(
        result_key=result_key,
        file_name=file_name,
        size_bytes=size,
        records_processed=entry.records_processed,
        records_rejected=entry.records_rejected,
        metrics=PerformanceMetrics(
            records_processed=entry.records_processed,
            queue_wait_ms=max(0, int(wait.total_seconds() * 1000)),
            input_bytes=record.payload_bytes,
        ),
        from_cache=True,
    )
    try:
        publish_result(jobs, record, _SERVABLE, result, ttl_seconds)
    except TransitionRefused:
        cache.objects.delete(result_key)  # cancelled meanwhile: nobody downloads this copy
        raise
