"""The beat of a running job: renews its lease, publishes progress, samples memory."""

from __future__ import annotations

import threading
from datetime import timedelta

import psutil
import structlog

from reports_shared.constants import JobStatus
from reports_shared.errors import TransitionRefused
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import JobStore

from .limiter import LeaseLimiter

log = structlog.get_logger(__name__)

_PROCESSING = frozenset({JobStatus.PROCESSING})


class Heartbeat:
    """A thread that, about once a second, keeps a job's lease and record current."""

    def __init__(
        self,
        store: JobStore,
        record: JobRecord,
        limiter: LeaseLimiter,
        lease_ttl_seconds: float,
        interval: float = 1.0,
    ) -> None:
        self.store = store
        self.record = record
        self.limiter = limiter
        self.lease_ttl = timedelta(seconds=lease_ttl_seconds)
        self.interval = min(interval, lease_ttl_seconds / 3)
        self.records = 0
        self.bytes_read = 0
        self.peak_rss = 0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def progress(self, records: int, bytes_read: int) -> None:
        """Called by the report builder as it goes; cheap, only stores the figures."""
        self.records = records
        self.bytes_read = bytes_read

    def __enter__(self) -> Heartbeat:
        self._sample_memory()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample_memory()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample_memory()
            try:
                self.beat()
            except TransitionRefused:
                return  # the job was cancelled or expired meanwhile
            except Exception as exc:
                # The lease lapses if Redis stays away; the job itself goes on.
                log.warning("heartbeat_failed", job_id=self.record.job_id, error=str(exc))

    def beat(self) -> None:
        """Renew the lease and write progress to the job record."""
        if not self.limiter.renew():
            log.warning("lease_lost", job_id=self.record.job_id)
        self.store.transition(
            self.record,
            _PROCESSING,
            JobStatus.PROCESSING,
            {
                "recordsProcessed": self.records,
                "bytesProcessed": self.bytes_read,
                "leaseExpiresAt": (utcnow() + self.lease_ttl).isoformat(),
            },
        )

    def _sample_memory(self) -> None:
        """This process's RSS plus what its own processes add (a build may render in
        helper processes): their unique pages (USS), not the pages they share with the
        fork server they come from. A second job of this process, if any, is in too."""
        used = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            try:
                used += child.memory_full_info().uss
            except psutil.Error:  # gone meanwhile
                continue
        self.peak_rss = max(self.peak_rss, used)
