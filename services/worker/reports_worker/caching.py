"""The report cache seen from the worker: serve a hit, follow a twin build, keep results."""

from __future__ import annotations

import time

import structlog
from redis.exceptions import RedisError

from reports_shared.cache import CacheEntry
from reports_shared.constants import JobStatus
from reports_shared.errors import (
    JobStoreUnavailable,
    StaleCacheEntry,
    StorageUnavailable,
    TransitionRefused,
)
from reports_shared.jobs import JobRecord
from reports_shared.results import ReportResult, serve_from_cache

from .services import Services

log = structlog.get_logger(__name__)

_STARTABLE = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})


def building_elsewhere(services: Services, key: str, record: JobRecord) -> bool:
    """Whether another live job is building the same report right now."""
    holder = services.cache.holder(key)
    if holder is None or holder == record.job_id:
        return False
    other = services.jobs.get(holder)
    return other is not None and other.status in _STARTABLE


def holder_of(job_id: str, run_id: str) -> str:
    """How a run of a job holds a dataset's claim: its job first, so others can look it up;
    its run after, so a run that lost the job never releases the claim of the one that won."""
    return f"{job_id} {run_id}"


def claim(services: Services, key: str, record: JobRecord, run_id: str) -> bool:
    """Claim the building of ``key`` for this run (taking it over from a finished holder)."""
    ttl = services.settings.job_time_limit_seconds
    holder = holder_of(record.job_id, run_id)
    if services.cache.claim(key, holder, ttl):
        return True
    if building_elsewhere(services, key, record):
        return False
    return services.cache.claim(key, holder, ttl, force=True)


def serve_cached(services: Services, record: JobRecord, entry: CacheEntry) -> bool:
    """Complete a job with the cached ZIP of the same report; False when the entry was stale
    (storage lost its ZIP: evicted), and the job must be built."""
    try:
        serve_from_cache(
            services.jobs, services.cache, record, entry, services.settings.job_ttl_seconds
        )
    except StaleCacheEntry:
        log.info("cache_entry_stale", job_id=record.job_id)
        return False
    except TransitionRefused as exc:  # cancelled meanwhile: the copy is already gone
        log.info("job_result_discarded", job_id=record.job_id, status=str(exc), at="cache")
        return True
    services.drop_payload(record)
    log.info("job_served_from_cache", job_id=record.job_id)
    return True


def keep(services: Services, key: str, result: ReportResult) -> None:
    """Offer a fresh ZIP to the cache (best effort: the job completes either way)."""
    entry = CacheEntry(
        key=key,
        object_key=services.settings.names.cache_object(key),
        file_name=result.file_name,
        size_bytes=result.size_bytes,
        records_processed=result.records_processed,
        records_rejected=result.records_rejected,
        created_at=time.time(),
    )
    try:
        services.cache.record_miss()
        evicted = services.cache.store(key, result.result_key, entry)
    except (StorageUnavailable, JobStoreUnavailable, RedisError) as exc:
        log.warning("cache_store_failed", key=key, error=str(exc))
        return
    if evicted:
        log.info("cache_evicted", entries=evicted)


def forget(services: Services, key: str) -> None:
    """Take back what ``keep`` offered, for a result that did not count (the run still
    holds the dataset's claim, so the entry is its own; best effort: a left entry expires
    with the cache's TTL)."""
    try:
        services.cache.remove(key, "discarded")
    except (StorageUnavailable, JobStoreUnavailable, RedisError) as exc:
        log.warning("cache_forget_failed", key=key, error=str(exc))
