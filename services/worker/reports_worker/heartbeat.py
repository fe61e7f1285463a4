"""The beat of a running job: renews its lease, publishes progress, samples memory."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import psutil
import structlog

from reports_shared.constants import JobStatus
from reports_shared.errors import RunFenced, TransitionRefused
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import JobStore

from .errors import RunStopped
from .limiter import LeaseLimiter

log = structlog.get_logger(__name__)

_PROCESSING = frozenset({JobStatus.PROCESSING})
#: Seconds between looks at whether the job is still this run's (between beats too): a
#: cancelled job's build stops, and its slot is free, well within two seconds.
WATCH_SECONDS = 0.25


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
        self.watch_every = min(WATCH_SECONDS, self.interval)
        self.records = 0
        self.bytes_read = 0
        #: The first and the last progress figures, as (bytes read, monotonic time): the
        #: run's own rate (see reports_shared.eta.Reading).
        self.first_figure: tuple[int, float] | None = None
        self.last_figure: tuple[int, float] | None = None
        # Bytes read and when (on the wall), first and last, as one tuple: the beat's
        # thread reads a consistent set.
        self._reading: tuple[int, datetime | None, int, datetime | None] = (0, None, 0, None)
        self.peak_rss = 0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._lost: RunStopped | None = None
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def progress(self, records: int, bytes_read: int) -> None:
        """Called by the report builder as it goes; cheap, only stores the figures. Raises
        RunStopped once the run has lost the job: the build stops where it is."""
        if bytes_read != self.bytes_read or self.first_figure is None:
            self.last_figure = (bytes_read, time.monotonic())
            now = utcnow()
            first_bytes, first_at = self._reading[:2]
            if self.first_figure is None:
                self.first_figure = self.last_figure
                first_bytes, first_at = bytes_read, now
            self._reading = (first_bytes, first_at, bytes_read, now)
        self.records = records
        self.bytes_read = bytes_read
        self.check()

    def check(self) -> None:
        """Raise RunStopped if this run has lost its job or its slot."""
        if self._lost is not None:
            raise self._lost

    def __enter__(self) -> Heartbeat:
        self._sample_memory()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample_memory()

    def _run(self) -> None:
        next_beat = time.monotonic() + self.interval
        while not self._stop.wait(self.watch_every):
            if self._lost is not None:
                return
            if time.monotonic() < next_beat:
                self._watch()
                continue
            next_beat = time.monotonic() + self.interval
            self._sample_memory()
            try:
                self.beat()
            except RunFenced:  # taken over by another run
                self._lost = RunStopped(superseded=True)
            except TransitionRefused as exc:  # cancelled (or expired, or gone)
                self._lost = RunStopped(superseded=True, ended=exc.current)
            except Exception as exc:
                # The lease lapses if Redis stays away; the job itself goes on.
                log.warning("heartbeat_failed", job_id=self.record.job_id, error=str(exc))

    def _watch(self) -> None:
        """Between beats: stop the run as soon as its job was cancelled or taken over."""
        try:
            status, run_id = self.store.standing(self.record.job_id)
        except Exception:
            return  # Redis away: the beat says what to do about it
        if status != JobStatus.PROCESSING:
            self._lost = RunStopped(superseded=True, ended=status)
        elif run_id != self.record.run_id:
            self._lost = RunStopped(superseded=True)

    def beat(self) -> None:
        """Renew the lease and write progress to the job record, while this run holds it."""
        if not self.limiter.renew():
            log.warning("lease_lost", job_id=self.record.job_id)
            self._lost = RunStopped(superseded=False)
            return
        first_bytes, first_at, bytes_read, read_at = self._reading
        self.store.transition(
            self.record,
            _PROCESSING,
            JobStatus.PROCESSING,
            {
                "recordsProcessed": self.records,
                "bytesProcessed": bytes_read,
                "progressAt": read_at,
                "firstBytesProcessed": first_bytes,
                "firstProgressAt": first_at,
                "leaseExpiresAt": (utcnow() + self.lease_ttl).isoformat(),
            },
            fence=self.record.run_id,
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
