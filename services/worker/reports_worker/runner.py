"""Runs one job: admission under the cap, the build, the upload, the final status."""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from redis.exceptions import RedisError

from reports_shared.constants import JobStatus
from reports_shared.errors import (
    InvalidInput,
    JobStoreUnavailable,
    StorageUnavailable,
    TransitionRefused,
)
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore.records import epoch
from reports_shared.messages import JobMessage
from reports_shared.results import ReportResult

from . import caching
from .errors import RunStopped
from .heartbeat import Heartbeat
from .input.content import Inflated
from .limiter import LeaseLimiter
from .machine import AUTO_MAX_PROCESSES, usable_cores
from .memory import give_back_memory
from .publishing import publish_run, run_metrics
from .reporttypes import build_report
from .samples import remember_run, run_sample
from .services import Services
from .settings import WorkerSettings

log = structlog.get_logger(__name__)

_STARTABLE = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})
_RUNNING = frozenset({JobStatus.PROCESSING})
_FAILABLE = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})


class NoSlot(Exception):
    """Every slot of the cap is taken: the message goes back to wait."""


class WaitForDependency(NoSlot):
    """Storage or Redis is unreachable: the message goes back to wait, costing no retry."""


def run_job(services: Services, message: JobMessage, retries: int, last_try: bool) -> None:
    """Build the report of one job, under the global cap. Raises NoSlot when it must wait."""
    try:
        admitted = _admit(services, message)
    except (JobStoreUnavailable, StorageUnavailable, RedisError) as exc:
        # Nothing is started yet: wait like for a slot, without spending a retry, so an
        # outage longer than the retries' backoff strands no queued job.
        log.warning("job_waits_for_dependency", job_id=message.job_id, error=str(exc))
        raise WaitForDependency from exc
    if admitted is None:
        return
    record, key, limiter = admitted
    try:
        _run_admitted(services, record, limiter, key, retries, last_try)
    finally:
        _let_go(services, record, key, limiter)
        give_back_memory()


def _admit(
    services: Services, message: JobMessage
) -> tuple[JobRecord, str | None, LeaseLimiter] | None:
    """The job with a slot (and the claim on its dataset), or None when there is nothing to do."""
    record = services.jobs.get(message.job_id)
    if record is None or record.status not in _STARTABLE:
        status = record.status.value if record else None
        log.info("job_skipped", job_id=message.job_id, status=status)
        return None
    key = services.cache.key_for(record)
    if (
        key
        and (entry := services.cache.lookup(key))
        and caching.serve_cached(services, record, entry)
    ):
        return None
    if _held_elsewhere(record) or (key and caching.building_elsewhere(services, key, record)):
        # Another worker runs it, or the same dataset (then the cache serves this one).
        raise NoSlot
    limiter = services.limiter(message.lane)
    if not limiter.try_acquire():
        raise NoSlot
    if key and not caching.claim(services, key, record, limiter.lease_id):
        limiter.release()
        raise NoSlot
    return record, key, limiter


def _let_go(services: Services, record: JobRecord, key: str | None, limiter: LeaseLimiter) -> None:
    """Give the slot and the dataset claim back (both lapse by themselves if Redis is away)."""
    try:
        limiter.release()
        if key:
            services.cache.release(key, caching.holder_of(record.job_id, limiter.lease_id))
    except (JobStoreUnavailable, RedisError) as exc:
        log.warning("release_failed", job_id=record.job_id, error=str(exc))


def _run_admitted(
    services: Services,
    record: JobRecord,
    limiter: LeaseLimiter,
    key: str | None,
    retries: int,
    last_try: bool,
) -> None:
    started = _start(services, record, limiter.lease_id)
    if started is None:
        return
    try:
        _build_and_publish(services, started, limiter, key)
    except RunStopped as stop:
        _stopped(services, started, stop)
    except InvalidInput as exc:  # ReportError too: what the user sent cannot be built
        _fail(services, started, str(exc))
    except Exception as exc:
        if _transient(exc):
            _settle(services, started)
            # An outage, not a fault of the job: it waits for the dependency like a queued
            # job does, spending no retry (the actor bounds how long). The traceback says
            # which call met the outage.
            log.warning("job_waits_for_dependency", job_id=record.job_id, exc_info=True)
            raise WaitForDependency from exc
        log.exception("job_crashed", job_id=record.job_id, retries=retries, last_try=last_try)
        _fail(services, started, f"Error interno al generar el reporte ({type(exc).__name__}).")


def _held_elsewhere(record: JobRecord) -> bool:
    """Whether a live lease shows the job running on some worker right now."""
    lease = record.lease_expires_at
    return record.status == JobStatus.PROCESSING and lease is not None and lease > utcnow()


def _start(services: Services, record: JobRecord, run_id: str) -> JobRecord | None:
    """Mark the job Processing, held by run ``run_id``, and count the delivery; None when it
    must not run."""
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
        "runId": run_id,
    }
    try:
        services.jobs.transition(record, _STARTABLE, JobStatus.PROCESSING, fields)
    except TransitionRefused:
        return None
    record.run_id = run_id
    record.status = JobStatus.PROCESSING
    record.deliveries += 1
    record.started_at = now
    log.info("job_started", job_id=record.job_id, delivery=record.deliveries)
    return record


def _build_and_publish(
    services: Services, record: JobRecord, limiter: LeaseLimiter, key: str | None
) -> None:
    settings = services.settings
    started = time.monotonic()
    processes = build_processes(settings, limiter)
    with (
        tempfile.TemporaryDirectory(dir=settings.work_dir or None) as work,
        Heartbeat(services.jobs, record, limiter, settings.lease_ttl_seconds) as beat,
    ):
        with services.objects.open(record.payload_key) as stored:
            # Inflated here, so the build counts progress in the bytes as uploaded.
            source = Inflated(stored) if record.payload_gzip else stored
            outcome = build_report(
                record.report_type,
                source,
                Path(work) / "report.zip",
                job_id=record.job_id,
                options=record.options,
                progress=beat.progress,
                max_input_bytes=settings.max_decompressed_bytes,
                processes=processes,
            )
        beat.check()
        run_folder = (record.run_id or "").rpartition(":")[2]
        result_key = settings.names.result_key(record.job_id, outcome.file_name, run_folder)
        # No check after the upload: a run that lost its job meanwhile is refused by the
        # fenced publish, which deletes this run's ZIP (a check here would leave it behind).
        services.objects.put_file(result_key, str(Path(work) / "report.zip"))
        metrics = run_metrics(record, outcome, time.monotonic() - started, beat.peak_rss)
        result = ReportResult(
            result_key=result_key,
            file_name=outcome.file_name,
            size_bytes=outcome.size_bytes,
            records_processed=outcome.records_processed,
            records_rejected=outcome.records_rejected,
            metrics=metrics,
        )
        if key:
            # Before Completed: a client that sees Completed and asks again gets the cache.
            caching.keep(services, key, result)
        # Before Completed too: once a job is seen done, its lane's estimates know of it.
        figures = (beat.first_figure, beat.last_figure)
        sample = run_sample(record.payload_bytes, time.monotonic() - started, *figures, started)
        remember_run(services, record, sample)
        # Inside the beat: while Redis is away the lease is renewed as soon as it is back.
        if not publish_run(services, record, result):
            _drop_if_cancelled(services, record, key)
            return
    services.drop_payload(record)
    log.info(
        "job_completed",
        job_id=record.job_id,
        records=outcome.records_processed,
        rejected=outcome.records_rejected,
        ms=metrics.processing_time_ms,
        peak_rss_mb=metrics.memory_usage_mb,
        processes=processes,
    )


def build_processes(settings: WorkerSettings, limiter: LeaseLimiter) -> int:
    """How many processes this build may use (see ``AR_BUILD_PROCESSES``)."""
    if settings.build_processes > 0:
        return settings.build_processes
    try:
        running = max(1, limiter.running_here())
    except JobStoreUnavailable:
        return 1
    return max(1, min(AUTO_MAX_PROCESSES, usable_cores() // running))


def _stopped(services: Services, record: JobRecord, stop: RunStopped) -> None:
    """A run that lost its job ends without a write; one that lost only its slot (the cap
    filled up while its lease had lapsed) puts the job back to wait for one."""
    if not stop.superseded and _settle(services, record, "En cola: esperando un lugar libre"):
        log.info("job_run_yielded", job_id=record.job_id)
        raise NoSlot
    if stop.ended == JobStatus.CANCELLED:
        services.drop_payload(record)
        log.info("job_run_cancelled", job_id=record.job_id, at="build")
        return
    log.info("job_run_fenced", job_id=record.job_id, at="build")


def _drop_if_cancelled(services: Services, record: JobRecord, key: str | None) -> None:
    """A run whose result was refused frees the dataset of a job cancelled meanwhile, and
    takes back the copy it had just offered the cache (a cancelled result is never served)."""
    try:
        current = services.jobs.get(record.job_id)
    except JobStoreUnavailable:
        return  # the janitor's expiry removes it
    if current is not None and current.status == JobStatus.CANCELLED:
        if key:
            caching.forget(services, key)
        services.drop_payload(record)
        log.info("job_run_cancelled", job_id=record.job_id, at="publish")


def fail_waiting(services: Services, job_id: str, reason: str) -> None:
    """End a job that waited too long for a dependency (JobStoreUnavailable if Redis is
    the one still away: then the next attempt fails it)."""
    record = services.jobs.get(job_id)
    if record is not None and record.status in _FAILABLE:
        _fail(services, record, reason)


def _fail(services: Services, record: JobRecord, reason: str) -> None:
    """End the job as Failed with a message the user can act on."""
    now = utcnow()
    expires = now + timedelta(seconds=services.settings.job_ttl_seconds)
    fields = {"message": reason, "error": reason, "completedAt": now, "expiresAt": expires}
    try:
        services.jobs.transition(
            record, _FAILABLE, JobStatus.FAILED, fields, epoch(expires), record.run_id
        )
    except TransitionRefused:
        return
    services.drop_payload(record)
    log.info("job_failed", job_id=record.job_id, reason=reason)


def _settle(
    services: Services, record: JobRecord, message: str = "Reintentando tras un error temporal"
) -> bool:
    """Back to Queued, if this run still holds the job; a run that ended without a crash
    undoes its count of deliveries. Whether it was moved."""
    fields = {
        "message": message,
        "deliveries": max(0, record.deliveries - 1),
        "leaseExpiresAt": None,
        "runId": None,
    }
    try:
        services.jobs.transition(
            record, _RUNNING, JobStatus.QUEUED, fields, epoch(record.created_at), record.run_id
        )
    except TransitionRefused:
        return False  # taken over, cancelled or expired meanwhile
    except Exception:
        log.warning("settle_failed", job_id=record.job_id)
        return False
    return True


def _transient(exc: Exception) -> bool:
    return isinstance(exc, StorageUnavailable | JobStoreUnavailable | ConnectionError)
