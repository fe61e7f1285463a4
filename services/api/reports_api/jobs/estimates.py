"""Estimates of when active jobs end or start, as the status shows them.

Each api process reads the active jobs' figures, the lanes' samples and the caps at most
once per ``BOARD_TTL_SECONDS`` and works out, once, when every queued job should start
(a queue's jobs wait for each other: one pass in order gives them all). A status then
costs no Redis read of its own: a running job's estimate comes from its own record, read
anyway, and a queued job's from the board, as is its place in its lane's queue.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from reports_shared.constants import JobStatus, Lane
from reports_shared.eta import (
    EstimateInputs,
    JobFigures,
    LaneModel,
    Reading,
    queue_starts,
    running_seconds_left,
)
from reports_shared.jobs import JobRecord
from reports_shared.jobstore import AsyncJobStore

#: How long an api process trusts what it read (its estimates move on with the clock).
BOARD_TTL_SECONDS = 1.0
#: How old a board must be before a job it does not know (created or started since)
#: makes it read again: a burst of new jobs costs one read, not one each.
UNKNOWN_JOB_REREAD_SECONDS = 0.1
#: The workers' caps until one has said them (their defaults).
DEFAULT_SLOTS = {"jobs": 2, "large": 1}


@dataclass(frozen=True, slots=True)
class Estimate:
    """Seconds until a job is done, and until it starts (a queued job only)."""

    seconds_left: float | None = None
    start_in: float | None = None


@dataclass(slots=True)
class Board:
    """What one read of Redis says: each lane's model, and when each queued job starts
    (epoch seconds), with when a job queued after them would."""

    read_at: float
    models: dict[Lane, LaneModel | None]
    #: When its read began (epoch seconds): a job created since may be missing from it.
    read_wall: float = 0.0
    #: The active jobs it was made of.
    known: set[str] = field(default_factory=set)
    starts_at: dict[str, float] = field(default_factory=dict)
    next_start_at: dict[Lane, float | None] = field(default_factory=dict)
    #: Each queued job's 1-based place in its lane's queue (both ordered by creation).
    positions: dict[str, int] = field(default_factory=dict)


class Estimates:
    """The estimates of one api process, from a board read at most once a second."""

    def __init__(self, jobs: AsyncJobStore, ttl: float = BOARD_TTL_SECONDS) -> None:
        self.jobs = jobs
        self.ttl = ttl
        self._board: Board | None = None
        #: The read under way, if any: every caller that needs it awaits it.
        self._reading: asyncio.Future[Board] | None = None

    async def of(self, record: JobRecord) -> Estimate:
        """The estimate of one job (none once it is finished)."""
        if record.status not in (JobStatus.QUEUED, JobStatus.PROCESSING):
            return Estimate()
        board = await self.board(record.job_id, record.created_at.timestamp())
        return estimate(board, record, time.time())

    async def queue_position(self, job_id: str) -> int | None:
        """A queued job's place in its lane as the board has it; None if the board does
        not hold it as queued (new since, requeued since, or past the board's limit)."""
        return (await self.board(job_id)).positions.get(job_id)

    async def board(self, job_id: str = "", created_at: float | None = None) -> Board:
        """The board, read again if older than the TTL, or than a moment if it does not
        know ``job_id`` (a job queued since would be estimated from a queue without it,
        and its lane's slots as they were); one read for concurrent callers, all woken at
        once when it is done (behind a lock they woke one loop turn after another: at 64
        statuses at a time, 70 ms each second, measured, the status' p99).

        A job created (epoch seconds ``created_at``) after the board's read began is read
        for at once: the board cannot hold it, nor, likely, the jobs that started just
        before it (a job queued behind two that had just started was told it would start
        at once, from a board read before they had)."""
        board = self._board
        if board is not None and not self._stale(board, job_id, created_at):
            return board
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read())
        # A caller that gives up (its client went away) leaves the read to the others.
        return await asyncio.shield(self._reading)

    async def _read(self) -> Board:
        """Read the board anew."""
        try:
            began = time.time()
            inputs = await self.jobs.estimate_inputs()
            self._board = build_board(
                inputs, time.time(), read_at=time.monotonic(), read_wall=began
            )
            return self._board
        finally:
            self._reading = None

    def _stale(self, board: Board, job_id: str, created_at: float | None = None) -> bool:
        age = time.monotonic() - board.read_at
        if age >= self.ttl:
            return True
        if not job_id or job_id in board.known:
            return False
        # created_at is to the millisecond, rounded down: within it, count it as newer.
        newer = created_at is not None and created_at + 0.001 > board.read_wall
        return newer or age >= UNKNOWN_JOB_REREAD_SECONDS


def build_board(
    inputs: EstimateInputs, now: float, read_at: float = 0.0, read_wall: float = 0.0
) -> Board:
    """Lane models from the samples, and every queued job's start (epoch seconds, from
    ``now``), walking each lane's queue in order from the running jobs' expected ends;
    ``read_at``: when it was read (monotonic); ``read_wall``: when its read began (epoch)."""
    models = {lane: LaneModel.fit(inputs.samples.get(lane, [])) for lane in Lane}
    known = {f.job_id for f in inputs.active}
    board = Board(read_at=read_at, models=models, read_wall=read_wall, known=known)
    slots = {**DEFAULT_SLOTS, **inputs.slots}
    running = [f for f in inputs.active if f.status == JobStatus.PROCESSING]
    for lane in Lane:
        holders = running if lane == Lane.SMALL else [f for f in running if f.lane == lane]
        lefts = [left for f in holders if (left := _left(f, models[f.lane], now)) is not None]
        lane_slots = slots["jobs"] if lane == Lane.SMALL else slots["large"]
        queued = [f for f in inputs.active if f.status == JobStatus.QUEUED and f.lane == lane]
        board.positions.update((f.job_id, place) for place, f in enumerate(queued, start=1))
        starts = queue_starts(
            queued=[f.payload_bytes for f in queued],
            running_left=lefts,
            slots=lane_slots,
            model=models[lane],
        )
        if starts is None:
            continue
        for figures, wait in zip(queued, starts, strict=False):
            board.starts_at[figures.job_id] = now + wait
        board.next_start_at[lane] = now + starts[-1]
    return board


def estimate(board: Board, record: JobRecord, now: float) -> Estimate:
    """A job's estimate at ``now``: a running one from its own record, a queued one from
    when the board says it starts plus its lane's expected duration."""
    model = board.models.get(record.lane)
    if record.status == JobStatus.PROCESSING:
        return Estimate(seconds_left=_left(_figures(record), model, now))
    starts_at = board.starts_at.get(record.job_id, board.next_start_at.get(record.lane))
    if starts_at is None or model is None:
        return Estimate()
    start_in = max(0.0, starts_at - now)
    return Estimate(seconds_left=start_in + model.duration(record.payload_bytes), start_in=start_in)


def _left(figures: JobFigures, model: LaneModel | None, now: float) -> float | None:
    """Seconds left of a running job at ``now``."""
    if figures.started_at is None:
        return None
    started = figures.started_at.timestamp()
    return running_seconds_left(
        total_bytes=figures.payload_bytes,
        reading=_reading(figures, started),
        elapsed=max(0.0, now - started),
        model=model,
    )


def _reading(figures: JobFigures, started: float) -> Reading | None:
    """The run's progress, if it is this run's (figures from before its start are an
    earlier run's, and say nothing of this one)."""
    first, last = figures.first_progress_at, figures.progress_at
    if first is None or last is None or first.timestamp() < started:
        return None
    return Reading(
        first_bytes=figures.first_bytes_processed,
        first_elapsed=first.timestamp() - started,
        last_bytes=figures.bytes_processed,
        last_elapsed=last.timestamp() - started,
    )


def _figures(record: JobRecord) -> JobFigures:
    return JobFigures(
        job_id=record.job_id,
        status=record.status,
        created_at=record.created_at,
        lane=record.lane,
        payload_bytes=record.payload_bytes,
        bytes_processed=record.bytes_processed,
        progress_at=record.progress_at,
        first_bytes_processed=record.first_bytes_processed,
        first_progress_at=record.first_progress_at,
        started_at=record.started_at,
    )
