"""One janitor sweep: expire finished jobs, recover jobs whose worker died."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import dramatiq
import structlog

from reports_shared.cache import ReportCache
from reports_shared.constants import TERMINAL_STATUSES, JobStatus
from reports_shared.errors import TransitionRefused
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import JobStore
from reports_shared.jobstore.records import epoch
from reports_shared.messages import message_for, to_dramatiq
from reports_shared.objectstore import ObjectStore

from .settings import JanitorSettings

log = structlog.get_logger(__name__)

_PROCESSING = frozenset({JobStatus.PROCESSING})
_QUEUED = frozenset({JobStatus.QUEUED})
#: Age of a Queued job with no confirmed message before the janitor sends it again.
ENQUEUE_GRACE_SECONDS = 30


@dataclass
class SweepCounts:
    """What one sweep did."""

    expired: int = 0
    requeued: int = 0
    failed: int = 0
    orphans: int = 0
    cache_expired: int = 0
    cache_missing: int = 0


class Janitor:
    """Keeps the job store and the bucket tidy; every step is idempotent."""

    def __init__(
        self,
        settings: JanitorSettings,
        jobs: JobStore,
        objects: ObjectStore,
        broker: dramatiq.Broker,
        cache: ReportCache,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.objects = objects
        self.broker = broker
        self.cache = cache

    def sweep(self) -> SweepCounts:
        """Run every step once; the counts of what changed."""
        counts = SweepCounts()
        now = utcnow()
        for job_id in self.jobs.expired_ids(epoch(now)):
            if self.expire(job_id):
                counts.expired += 1
        for record in list(self.jobs.iter_active()):
            outcome = self.recover(record, now)
            if outcome == JobStatus.QUEUED:
                counts.requeued += 1
            elif outcome == JobStatus.FAILED:
                counts.failed += 1
        counts.cache_expired = self.cache.expire()
        counts.cache_missing = self.cache.drop_missing()
        counts.orphans = self.remove_orphans(now)
        return counts

    def expire(self, job_id: str) -> bool:
        """Delete a finished job's ZIP, payload and token; leave a tombstone that says 410."""
        record = self.jobs.get(job_id)
        if record is None or record.status not in TERMINAL_STATUSES:
            self.jobs.client.zrem(self.jobs.names.jobs_expiry, job_id)
            return False
        if record.result_key:
            self.objects.delete(record.result_key)
        if record.payload_key:
            self.objects.delete(record.payload_key)
        fields = {"message": "El reporte expiró y fue eliminado.", "resultKey": None}
        try:
            self.jobs.transition(record, TERMINAL_STATUSES, JobStatus.EXPIRED, fields, 0.0)
        except TransitionRefused:
            return False
        self.jobs.client.zrem(self.jobs.names.jobs_expiry, job_id)
        self.jobs.leave_history(record)
        self.jobs.client.expire(self.jobs.names.job(job_id), self.settings.tombstone_ttl_seconds)
        log.info("job_expired", job_id=job_id)
        return True

    def recover(self, record: JobRecord, now: datetime) -> JobStatus | None:
        """Requeue a job whose message was lost, or whose worker died (fail it past the limit)."""
        if record.status == JobStatus.QUEUED:
            return self._enqueue_lost(record, now)
        lease = record.lease_expires_at
        grace = timedelta(seconds=self.settings.lease_ttl_seconds)
        if record.status != JobStatus.PROCESSING or lease is None or lease + grace > now:
            return None
        if record.deliveries >= self.settings.max_deliveries:
            reason = (f"El trabajo se interrumpió {record.deliveries} veces sin terminar; "
                      "no se reintentará.")  # fmt: skip
            expires = now + timedelta(seconds=self.settings.job_ttl_seconds)
            fields = {"message": reason, "error": reason, "completedAt": now, "expiresAt": expires}
            return self._move(record, JobStatus.FAILED, fields, epoch(expires))
        fields = {"message": "Reencolado: el worker que lo procesaba dejó de responder.",
                  "leaseExpiresAt": None, "runId": None}  # fmt: skip
        moved = self._move(record, JobStatus.QUEUED, fields, epoch(record.created_at))
        if moved is not None:
            self._publish(record)
        return moved

    def _enqueue_lost(self, record: JobRecord, now: datetime) -> JobStatus | None:
        """A Queued job whose message was never confirmed (the api died between the two)."""
        grace = timedelta(seconds=ENQUEUE_GRACE_SECONDS)
        if record.enqueued_at is not None or record.created_at + grace > now:
            return None
        self._publish(record)
        fields = {"enqueuedAt": utcnow()}
        try:
            self.jobs.transition(
                record, _QUEUED, JobStatus.QUEUED, fields, epoch(record.created_at)
            )
        except TransitionRefused:
            return None
        log.info("job_enqueued_again", job_id=record.job_id)
        return JobStatus.QUEUED

    def _publish(self, record: JobRecord) -> None:
        self.broker.enqueue(to_dramatiq(message_for(record), self.jobs.names))

    def remove_orphans(self, now: datetime) -> int:
        """Delete objects older than the grace period that no job or cache entry needs, and
        abort multipart uploads left open that long."""
        cutoff = now - timedelta(seconds=self.settings.orphan_grace_seconds)
        removed = 0
        for prefix in ("payloads/", "results/", "cache/"):
            for info in self.objects.list(prefix):
                if info.last_modified is None or info.last_modified > cutoff:
                    continue
                job_id = info.key.removeprefix(prefix).split("/", 1)[0]
                if self._owns(job_id, info.key):
                    continue
                self.objects.delete(info.key)
                removed += 1
                log.info("orphan_removed", key=info.key)
        for info in self.objects.list("tus/"):
            # A tus upload's tail outlives it when the upload expired (its state in Redis
            # did; the api deletes the tails of one terminated or finished).
            upload_id = info.key.removeprefix("tus/").split("/", 1)[0]
            if info.last_modified is None or info.last_modified > cutoff:
                continue
            if not self.jobs.client.exists(self.jobs.names.tus_upload(upload_id)):
                self.objects.delete(info.key)
                removed += 1
                log.info("expired_upload_tail_removed", key=info.key)
        for upload in self.objects.pending_uploads():
            # Idle, not merely old: an upload still streaming in is marked alive by the api.
            idle = upload.last_activity is not None and upload.last_activity <= cutoff
            if idle and not self._streaming(upload.key):
                self.objects.abort_upload(upload)
                removed += 1
                log.info("abandoned_upload_aborted", key=upload.key)
        return removed

    def _streaming(self, key: str) -> bool:
        """Whether the api still streams the payload at ``key`` in."""
        job_id = key.removeprefix("payloads/")
        return bool(self.jobs.client.exists(self.jobs.names.uploading(job_id)))

    def _owns(self, job_id: str, key: str) -> bool:
        """Whether a live job (or cache entry) still needs the object at ``key``."""
        if key.startswith("cache/"):
            return self.cache.owns(key)
        record = self.jobs.get(job_id)
        if record is None or record.status == JobStatus.EXPIRED:
            return False
        return record.result_key == key if key.startswith("results/") else True

    def _move(
        self, record: JobRecord, status: JobStatus, fields: dict[str, object], score: float
    ) -> JobStatus | None:
        try:
            self.jobs.transition(record, _PROCESSING, status, fields, score)
        except TransitionRefused:
            return None
        log.info("job_recovered", job_id=record.job_id, status=status.value)
        return status
