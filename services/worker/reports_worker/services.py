"""The clients a worker's jobs share."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from reports_shared.cache import ReportCache
from reports_shared.constants import Lane
from reports_shared.jobs import JobRecord
from reports_shared.jobstore import JobStore
from reports_shared.objectstore import ObjectStore

from .limiter import LeaseLimiter
from .settings import WorkerSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Services:
    """The clients a job needs."""

    settings: WorkerSettings
    jobs: JobStore
    objects: ObjectStore
    cache: ReportCache

    def limiter(self, lane: Lane) -> LeaseLimiter:
        """A fresh lease limiter for one job of ``lane``."""
        names = self.settings.names
        limits = {names.limiter("jobs"): self.settings.max_concurrent_jobs}
        if lane == Lane.LARGE:
            limits[names.limiter("large-jobs")] = self.settings.large_lane_limit
        return LeaseLimiter(self.jobs.client, limits, self.settings.lease_ttl_seconds)

    def drop_payload(self, record: JobRecord) -> None:
        """Delete a finished job's payload (best effort: the janitor removes what is left)."""
        if self.settings.delete_payloads and record.payload_key:
            try:
                self.objects.delete(record.payload_key)
            except Exception:
                log.warning("payload_delete_failed", job_id=record.job_id)
