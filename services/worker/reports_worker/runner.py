"""Runs one job: admission under the cap, the build, the upload, the final status."""

from __future__ import annotations

import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog

from reports_shared.constants import JobStatus, Lane
from reports_shared.errors import JobStoreUnavailable, StorageUnavailable
from reports_shared.jobs import JobRecord, PerformanceMetrics, utcnow
from reports_shared.jobstore import JobStore, TransitionRefused
from reports_shared.messages import JobMessage
from reports_shared.objectstore import ObjectStore
from reports_shared.records import epoch

from .heartbeat import Heartbeat
from .limiter import LeaseLimiter
from .reports import BuildOutcome, ReportError, build_report
from .settings import WorkerSettings

log = structlog.get_logger(__name__)

_STARTABLE = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})
_RUNNING = frozenset({JobStatus.PROCESSING})
_FAILABLE = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})


class NoSlot(Exception):
    """Every slot of the cap is taken: the message goes back to wait."""


@dataclass(frozen=True, slots=True)
class Services:
    """The clients a job needs."""

    settings: WorkerSettings
    jobs: JobStore
    objects: ObjectStore

    def limiter(self, lane: Lane) -> LeaseLimiter:
        """A fresh lease limiter for one job of ``lane``."""
        names = self.settings.names
        limits = {names.limiter("jobs"): self.settings.max_concurrent_jobs}
        if lane == Lane.LARGE:
            limits[names.limiter("large-jobs")] = self.settings.large_lane_limit
        return LeaseLimiter(self.jobs.client, limits, self.settings.lease_ttl_seconds)


def run_job(services: Services, message: JobMessage, retries: int, last_try: bool) -> None:
    """Build the report of one job, under the global cap. Raises NoSlot when it is full."""
    bound = log.bind(job_id=message.job_id, report_type=message.report_type)
    record = services.jobs.get(message.job_id)
    if record is None or record.status not in _STARTABLE:
        bound.info("job_skipped", status=record.status.value if record else None)
        return
    if _held_elsewhere(record):
        # Another worker runs it (or died less than a lease ago): look again later.
        raise NoSlot
    limiter = services.limiter(message.lane)
    with limiter.acquire(raise_on_failure=False) as acquired:
        if not acquired:
            raise NoSlot
        record = _start(services, record)
        if record is None:
            return
        try:
            _build_and_publish(services, record, limiter)
        except ReportError as exc:
            _fail(services, record, str(exc))
        except Exception as exc:
            _settle(services, record)
            if last_try or not _transient(exc):
                bound.exception("job_crashed", retries=retries)
                _fail(
                    services, record, f"Error interno al generar el reporte ({type(exc).__name__})."
                )
                return
            raise


def _held_elsewhere(record: JobRecord) -> bool:
    """Whether a live lease shows the job running on some worker right now."""
    lease = record.lease_expires_at
    return record.status == JobStatus.PROCESSING and lease is not None and lease > utcnow()


def _start(services: Services, record: JobRecord) -> JobRecord | None:
    """Mark the job Processing and count the delivery; None when it must not run."""
    settings = services.settings
    if record.deliveries >= settings.max_deliveries:
        _fail(
            services,
            record,
            f"El trabajo se interrumpió {record.deliveries} veces sin terminar (posible dato que "
            "hace caer al worker); no se reintentará.",
        )
        return None
    now = utcnow()
    fields: dict[str, Any] = {
        "message": "Procesando el reporte",
        "deliveries": record.deliveries + 1,
        "startedAt": now,
        "leaseExpiresAt": now + timedelta(seconds=settings.lease_ttl_seconds),
    }
    try:
        services.jobs.transition(record, _STARTABLE, JobStatus.PROCESSING, fields)
    except TransitionRefused:
        return None
    record.status = JobStatus.PROCESSING
    record.deliveries += 1
    record.started_at = now
    log.info("job_started", job_id=record.job_id, delivery=record.deliveries)
    return record


def _build_and_publish(services: Services, record: JobRecord, limiter: LeaseLimiter) -> None:
    settings = services.settings
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(dir=settings.work_dir or None) as work,
        Heartbeat(services.jobs, record, limiter, settings.lease_ttl_seconds) as beat,
    ):
        with services.objects.open(record.payload_key) as source:
            outcome = build_report(
                record.report_type,
                source,
                Path(work) / "report.zip",
                job_id=record.job_id,
                options=record.options,
                progress=beat.progress,
                max_input_bytes=settings.max_decompressed_bytes,
            )
        result_key = settings.names.result_key(record.job_id, outcome.file_name)
        services.objects.put_file(result_key, str(Path(work) / "report.zip"))
    metrics = _metrics(record, outcome, time.monotonic() - started, beat.peak_rss)
    _complete(services, record, outcome, result_key, metrics)


def _metrics(
    record: JobRecord, outcome: BuildOutcome, seconds: float, peak_rss: int
) -> PerformanceMetrics:
    started = record.started_at or utcnow()
    return PerformanceMetrics(
        processing_time_ms=int(seconds * 1000),
        memory_usage_mb=round(peak_rss / 1024 / 1024, 1),
        records_processed=outcome.records_processed,
        queue_wait_ms=max(0, int((started - record.created_at).total_seconds() * 1000)),
        input_bytes=record.payload_bytes,
        records_per_second=round(outcome.records_processed / seconds, 1) if seconds > 0 else 0.0,
    )


def _complete(
    services: Services,
    record: JobRecord,
    outcome: BuildOutcome,
    result_key: str,
    metrics: PerformanceMetrics,
) -> None:
    """Publish the result: token first, then the status, so Completed always downloads."""
    ttl = services.settings.job_ttl_seconds
    token = secrets.token_urlsafe(24)
    services.jobs.set_token(token, record.job_id, ttl)
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    fields: dict[str, Any] = {
        "message": "Reporte generado exitosamente",
        "completedAt": now,
        "expiresAt": expires,
        "fileName": outcome.file_name,
        "fileSizeBytes": outcome.size_bytes,
        "resultKey": result_key,
        "downloadToken": token,
        "recordsProcessed": outcome.records_processed,
        "recordsRejected": outcome.records_rejected,
        "bytesProcessed": record.payload_bytes,
        "deliveries": 0,
        "performanceMetrics": metrics,
    }
    try:
        services.jobs.transition(record, _RUNNING, JobStatus.COMPLETED, fields, epoch(expires))
    except TransitionRefused as exc:
        # Cancelled or expired meanwhile: nobody will download this one.
        services.jobs.delete_token(token)
        services.objects.delete(result_key)
        log.info("job_result_discarded", job_id=record.job_id, status=str(exc))
        return
    _drop_payload(services, record)
    log.info(
        "job_completed",
        job_id=record.job_id,
        records=outcome.records_processed,
        rejected=outcome.records_rejected,
        ms=metrics.processing_time_ms,
        peak_rss_mb=metrics.memory_usage_mb,
    )


def _fail(services: Services, record: JobRecord, reason: str) -> None:
    """End the job as Failed with a message the user can act on."""
    now = utcnow()
    expires = now + timedelta(seconds=services.settings.job_ttl_seconds)
    fields = {"message": reason, "error": reason, "completedAt": now, "expiresAt": expires}
    try:
        services.jobs.transition(record, _FAILABLE, JobStatus.FAILED, fields, epoch(expires))
    except TransitionRefused:
        return
    _drop_payload(services, record)
    log.info("job_failed", job_id=record.job_id, reason=reason)


def _settle(services: Services, record: JobRecord) -> None:
    """Back to Queued for a retry; an error we caught is not a crash, so undo its count."""
    fields = {
        "message": "Reintentando tras un error temporal",
        "deliveries": max(0, record.deliveries - 1),
        "leaseExpiresAt": None,
    }
    try:
        services.jobs.transition(
            record, _RUNNING, JobStatus.QUEUED, fields, epoch(record.created_at)
        )
    except Exception:
        log.warning("settle_failed", job_id=record.job_id)


def _drop_payload(services: Services, record: JobRecord) -> None:
    if services.settings.delete_payloads and record.payload_key:
        try:
            services.objects.delete(record.payload_key)
        except Exception:
            log.warning("payload_delete_failed", job_id=record.job_id)


def _transient(exc: Exception) -> bool:
    return isinstance(exc, StorageUnavailable | JobStoreUnavailable | ConnectionError)
