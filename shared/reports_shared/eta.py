"""Estimates of when a job ends or starts: from its own progress and its lane's recent runs.

Pure functions of the figures the api reads (the record, the lane's samples): no clock, no
Redis, so every case is a unit test.
"""

from __future__ import annotations

import heapq
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import msgspec

from .constants import JobStatus, Lane

#: Share of the payload read before a job's own rate is trusted alone; below it the rate
#: is blended with what the lane's recent runs predict (early rates are noisy: the first
#: batch pays for the connection to storage and the workbook's set-up).
TRUST_OWN_RATE_AT = 0.25
#: Share of a build spent after its last byte is read (writing, zipping, uploading), when
#: no run of the lane has been sampled yet.
DEFAULT_FINISH_SHARE = 0.1
#: The most of a build that the finishing allowance may take (a sample whose reading was
#: over at once would otherwise make every estimate infinite).
MAX_FINISH_SHARE = 0.9
#: Least time between a running job's first and last progress figures for its own rate to
#: count: a build with helpers hands their parts on in bursts, and a rate measured over a
#: burst alone says the job is all but done. (The first figure, none done, comes when the
#: reading begins, so a burst is measured with the time before it; 1 s made short jobs'
#: estimates lean on their lane longer, and no better: bench/eta_error.py.)
MIN_RATE_SECONDS = 0.25
#: Least estimate for a job that runs: one past its expected end is about to finish.
MIN_SECONDS_LEFT = 0.5
#: Least payload of a finished build for its time to tell a rate even if its reading was
#: shorter than :data:`MIN_RATE_SECONDS`: a batch, what a build reads between two progress
#: figures. A build of a few records is over in 0.03 s, all of it set-up and finishing:
#: taken as a rate, it had a 7 MB job estimated at 440 s (and polled every 30 s) when it
#: took 0.3 s. One of 1 MB also counts fixed costs as reading, but errs by two or three
#: times, not a thousand.
MIN_RATE_BYTES = 1 << 20
#: Seconds per payload byte a lane is taken to need while none of its samples tells its
#: own rate: 10 MB/s, a third of what a 45,000-invoice build reads on 2 cores
#: (docs/contributors/performance.md).
DEFAULT_SECONDS_PER_BYTE = 1 / 10e6
#: Finished builds a lane keeps for its estimates (the newest), and for how long: a lane
#: idle for a week starts afresh (the machines may have changed meanwhile).
SAMPLES_KEPT = 20
SAMPLES_TTL_SECONDS = 7 * 86_400
#: Average wait between a slot falling free and a waiting message asking again for it (the
#: worker retries a message that found no slot after 0.5-2 s).
SLOT_RETRY_LAG_SECONDS = 0.6


class RunSample(msgspec.Struct, array_like=True, frozen=True):
    """One finished build, as the worker records it for its lane's estimates."""

    payload_bytes: int
    #: From the job's start to its result published.
    seconds: float
    #: From the start to when its reading ended (extrapolated from its last progress).
    read_seconds: float
    #: From the start to its first progress figure: what it costs whatever its size
    #: (storage opened, helpers ready, the workbook begun).
    setup_seconds: float = 0.0


class JobFigures(msgspec.Struct, rename="camel", kw_only=True):
    """The fields of an active job's record that the estimates read (not the whole record)."""

    job_id: str
    status: JobStatus
    created_at: datetime
    lane: Lane = Lane.SMALL
    payload_bytes: int = 0
    bytes_processed: int = 0
    progress_at: datetime | None = None
    first_bytes_processed: int = 0
    first_progress_at: datetime | None = None
    started_at: datetime | None = None


#: Hash fields of a JobFigures, as stored.
FIGURES_FIELDS = (
    "jobId",
    "status",
    "createdAt",
    "lane",
    "payloadBytes",
    "bytesProcessed",
    "progressAt",
    "firstBytesProcessed",
    "firstProgressAt",
    "startedAt",
)


class EstimateInputs(msgspec.Struct, kw_only=True):
    """What the estimates of every active job are made of, read at once."""

    #: Queued and processing jobs, oldest first.
    active: list[JobFigures]
    samples: dict[Lane, list[RunSample]]
    #: The caps the workers last said they run under (``jobs``, ``large``); empty if none.
    slots: dict[str, int]


@dataclass(frozen=True, slots=True)
class LaneModel:
    """How long a lane's builds take: ``overhead + bytes * seconds_per_byte``."""

    overhead: float
    seconds_per_byte: float
    #: Share of a build that comes after its reading.
    finish_share: float

    @classmethod
    def fit(cls, samples: Sequence[RunSample]) -> LaneModel | None:
        """The model of ``samples``: a least-squares line when their sizes differ enough,
        else their median set-up and their average rate after it; None without a usable
        sample.

        Only a sample of a batch's payload (:data:`MIN_RATE_BYTES`) or whose reading lasted
        :data:`MIN_RATE_SECONDS` tells a rate or a finishing share: a smaller build is its
        fixed costs. With none such, the model is the samples' median length plus
        :data:`DEFAULT_SECONDS_PER_BYTE`.
        """
        usable = [s for s in samples if s.seconds > 0 and s.payload_bytes > 0]
        if not usable:
            return None
        timed = [
            s
            for s in usable
            if s.payload_bytes >= MIN_RATE_BYTES
            or s.read_seconds - s.setup_seconds >= MIN_RATE_SECONDS
        ]
        if not timed:
            fixed = statistics.median(s.seconds for s in usable)
            return cls(fixed, DEFAULT_SECONDS_PER_BYTE, DEFAULT_FINISH_SHARE)
        finish = statistics.median(max(0.0, s.seconds - s.read_seconds) / s.seconds for s in timed)
        finish = min(MAX_FINISH_SHARE, finish)
        line = _line(timed)
        if line is None:
            setup = statistics.median(min(s.setup_seconds, s.seconds) for s in timed)
            after = sum(max(0.0, s.seconds - setup) for s in timed)
            return cls(setup, after / sum(s.payload_bytes for s in timed), finish)
        return cls(line[0], line[1], finish)

    def duration(self, payload_bytes: int) -> float:
        """Expected seconds of a build of ``payload_bytes``."""
        return self.overhead + max(0, payload_bytes) * self.seconds_per_byte


def _line(samples: Sequence[RunSample]) -> tuple[float, float] | None:
    """Intercept and slope of seconds over bytes, if the sizes span at least 2x and the
    line is sane (an intercept within the shortest run, a positive slope)."""
    sizes = [s.payload_bytes for s in samples]
    if len(samples) < 3 or max(sizes) < 2 * min(sizes):
        return None
    mean_x = statistics.fmean(sizes)
    mean_y = statistics.fmean(s.seconds for s in samples)
    spread = sum((x - mean_x) ** 2 for x in sizes)
    slope = sum((s.payload_bytes - mean_x) * (s.seconds - mean_y) for s in samples) / spread
    if slope <= 0:
        return None
    shortest = min(s.seconds for s in samples)
    intercept = min(max(0.0, mean_y - slope * mean_x), shortest)
    return intercept, slope


@dataclass(frozen=True, slots=True)
class Reading:
    """How far a run has gone through its payload: its first progress figure and its last,
    each as (payload bytes done, seconds from the run's start)."""

    first_bytes: int
    first_elapsed: float
    last_bytes: int
    last_elapsed: float

    def seconds(self, total_bytes: int) -> float | None:
        """Seconds from the run's start to the end of its reading, at the rate between its
        first and last figures; None before a second figure.

        The figures count the payload bytes of the batches done, and the first (none done)
        comes when the reading begins: the rate is not taken from the run's start, which
        would count its set-up (storage opened, helpers started) as reading.
        """
        read = self.last_bytes - self.first_bytes
        took = self.last_elapsed - self.first_elapsed
        if read <= 0 or took <= 0:
            return None
        return self.first_elapsed + total_bytes * took / read


def running_seconds_left(
    *,
    total_bytes: int,
    reading: Reading | None,
    elapsed: float,
    model: LaneModel | None,
) -> float | None:
    """Seconds until a running job is done, ``elapsed`` seconds after its start.

    Its own rate (see :meth:`Reading.seconds`), once measured over :data:`MIN_RATE_SECONDS`,
    gives the reading's length, and the lane's finishing share the rest; before a quarter
    of the payload is read that is blended with the lane's expected duration, which alone
    answers before then.
    None when neither its progress nor its lane says anything yet.
    """
    expected = None if model is None else model.duration(total_bytes)
    reading_seconds = None
    if reading is not None and reading.last_elapsed - reading.first_elapsed >= MIN_RATE_SECONDS:
        reading_seconds = reading.seconds(total_bytes)
    own = None
    share = 0.0
    if reading is not None and reading_seconds is not None and total_bytes > 0:
        finish = DEFAULT_FINISH_SHARE if model is None else model.finish_share
        own = reading_seconds / (1 - finish)
        share = (reading.last_bytes - reading.first_bytes) / total_bytes
    if own is None and expected is None:
        return None
    if own is None:
        total = expected
    elif expected is None or share >= TRUST_OWN_RATE_AT:
        total = own
    else:
        weight = share / TRUST_OWN_RATE_AT
        total = weight * own + (1 - weight) * expected
    assert total is not None
    return max(MIN_SECONDS_LEFT, total - elapsed)


def queue_starts(
    *,
    queued: Sequence[int],
    running_left: Sequence[float],
    slots: int,
    model: LaneModel | None,
) -> list[float] | None:
    """Seconds until each job of a lane's queue starts, and, last, a job queued after them.

    ``queued``: payload bytes of the lane's queued jobs, in order; ``running_left``:
    seconds left of the jobs holding the lane's slots; ``slots``: how many may run at
    once. Each job takes the slot that falls free first, for its expected duration (one
    pass for the whole queue). None without a model of the lane (nothing says how long
    the jobs ahead take).
    """
    if model is None or slots < 1:
        return None
    busy = sorted(running_left)[:slots]
    free_at = [left + SLOT_RETRY_LAG_SECONDS for left in busy] + [0.0] * (slots - len(busy))
    heapq.heapify(free_at)
    starts = []
    for payload_bytes in queued:
        start = heapq.heappop(free_at)
        starts.append(start)
        heapq.heappush(free_at, start + model.duration(payload_bytes) + SLOT_RETRY_LAG_SECONDS)
    starts.append(free_at[0])
    return starts


def poll_after(seconds_left: float | None, default: int, bounds: tuple[int, int]) -> int:
    """Seconds a poller should wait: half the time left (so it looks again as the end nears,
    and a late job is seen soon), within ``bounds``; ``default`` without an estimate."""
    if seconds_left is None:
        return default
    low, high = bounds
    return int(min(high, max(low, round(seconds_left / 2))))
