"""The clients a worker's jobs share."""

from __future__ import annotations

from dataclasses import dataclass

from reports_shared.cache import ReportCache
from reports_shared.constants import Lane
from reports_shared.jobs import JobRecord
from reports_shared.jobstore import JobStore
from reports_shared.objectstore import ObjectStore
from reports_shared.storedpayload import drop_payload

from .limiter import LeaseLimiter
from .settings import WorkerSettings


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
        """Delete a finished job's payload (``storedpayload.drop_payload``)."""
        drop_payload(self.objects, record, self.settings)
