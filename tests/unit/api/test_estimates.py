"""The api's board: every queued job's start from the running jobs, a running job's end."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import fakeredis
import pytest

from reports_api.jobs.estimates import (
    UNKNOWN_JOB_REREAD_SECONDS,
    Board,
    Estimates,
    build_board,
    estimate,
)
from reports_shared.constants import JobStatus, Lane, Names
from reports_shared.errors import JobStoreUnavailable
from reports_shared.eta import SLOT_RETRY_LAG_SECONDS, EstimateInputs, JobFigures, RunSample
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import AsyncJobStore, JobStore

MB = 1_000_000
NAMES = Names("unit")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: Builds of the small lane: 10 MB/s, the last tenth after the reading.
SAMPLES = {Lane.SMALL: [RunSample(10 * MB, 1.0, 0.9)], Lane.LARGE: []}


def job(job_id: str, status: JobStatus, lane: Lane = Lane.SMALL, **fields: Any) -> JobRecord:
    fields.setdefault("created_at", NOW - timedelta(minutes=1))
    return JobRecord(job_id=job_id, status=status, message="", report_type="Tabular",
                     user_name="ana", lane=lane, payload_bytes=100 * MB, **fields)  # fmt: skip


def running(job_id: str, seconds_ago: float, read_share: float) -> JobRecord:
    """A job that started ``seconds_ago`` and has read ``read_share`` of its 100 MB since,
    at a steady rate (its last figure now)."""
    started = NOW - timedelta(seconds=seconds_ago)
    return job(job_id, JobStatus.PROCESSING, started_at=started, first_progress_at=started,
               progress_at=NOW, bytes_processed=int(read_share * 100 * MB))  # fmt: skip


def figures(record: JobRecord) -> JobFigures:
    fields = {f: getattr(record, f) for f in JobFigures.__struct_fields__}
    return JobFigures(**fields)


def board_of(*records: JobRecord, slots: dict[str, int] | None = None) -> Board:
    inputs = EstimateInputs(active=[figures(r) for r in records], samples=SAMPLES,
                            slots=slots or {})  # fmt: skip
    return build_board(inputs, NOW.timestamp())


def test_a_running_job_ends_as_its_own_rate_says() -> None:
    # Half read in 5 s: 10 s of reading, over a tenth of the build short of the whole.
    record = running("r", 5.0, 0.5)
    result = estimate(board_of(record), record, NOW.timestamp())
    assert result.seconds_left == pytest.approx(10 / 0.9 - 5)
    assert result.start_in is None


def test_a_job_queued_behind_two_running_starts_when_the_first_ends() -> None:
    first, second = running("r1", 5.0, 0.5), running("r2", 2.0, 0.5)
    queued = job("q", JobStatus.QUEUED)
    board = board_of(first, second, queued)
    result = estimate(board, queued, NOW.timestamp())
    start = 4 / 0.9 - 2 + SLOT_RETRY_LAG_SECONDS  # the second ends first: it reads faster
    assert result.start_in == pytest.approx(start)
    assert result.seconds_left == pytest.approx(start + 10.0)


def test_the_estimates_move_on_with_the_clock_between_reads() -> None:
    queued = job("q", JobStatus.QUEUED)
    board = board_of(running("r1", 5.0, 0.5), running("r2", 2.0, 0.5), queued)
    now = NOW.timestamp()
    start_in = estimate(board, queued, now).start_in
    assert start_in is not None
    assert estimate(board, queued, now + 1.0).start_in == pytest.approx(start_in - 1.0)


def test_a_job_queued_after_the_board_was_read_waits_behind_the_whole_queue() -> None:
    ahead = job("q1", JobStatus.QUEUED)
    board = board_of(running("r1", 5.0, 0.5), running("r2", 2.0, 0.5), ahead)
    newcomer = job("q2", JobStatus.QUEUED)
    result = estimate(board, newcomer, NOW.timestamp())
    assert result.start_in == pytest.approx(10 / 0.9 - 5 + SLOT_RETRY_LAG_SECONDS)


def test_a_large_job_waits_only_for_the_large_lanes_slots() -> None:
    samples_large = {**SAMPLES, Lane.LARGE: [RunSample(10 * MB, 1.0, 0.9)]}
    started = NOW - timedelta(seconds=5)
    large_running = job("rl", JobStatus.PROCESSING, Lane.LARGE, started_at=started,
                        first_progress_at=started, progress_at=NOW,
                        bytes_processed=50 * MB)  # fmt: skip
    small_running = running("rs", 1.0, 0.5)
    queued = job("ql", JobStatus.QUEUED, Lane.LARGE)
    inputs = EstimateInputs(active=[figures(r) for r in (large_running, small_running, queued)],
                            samples=samples_large, slots={"jobs": 2, "large": 1})  # fmt: skip
    board = build_board(inputs, NOW.timestamp())
    result = estimate(board, queued, NOW.timestamp())
    assert result.start_in == pytest.approx(10 / 0.9 - 5 + SLOT_RETRY_LAG_SECONDS)


def test_a_queued_job_in_a_lane_never_sampled_has_no_estimate() -> None:
    queued = job("ql", JobStatus.QUEUED, Lane.LARGE)
    result = estimate(board_of(queued), queued, NOW.timestamp())
    assert result.seconds_left is None and result.start_in is None


class CountingStore(AsyncJobStore):
    """The real store, counting its board reads."""

    reads = 0

    async def estimate_inputs(self, limit: int = 1000) -> EstimateInputs:
        self.reads += 1
        return await super().estimate_inputs(limit)


def counting_estimates() -> tuple[fakeredis.FakeServer, CountingStore, Estimates]:
    server = fakeredis.FakeServer()
    JobStore(fakeredis.FakeRedis(server=server), NAMES).create(job("q", JobStatus.QUEUED))
    store = CountingStore(fakeredis.FakeAsyncRedis(server=server), NAMES)
    return server, store, Estimates(store)


def test_concurrent_callers_share_one_read_and_get_the_same_board() -> None:
    _, store, estimates = counting_estimates()

    async def many() -> list[Board]:
        return await asyncio.gather(*(estimates.board("q") for _ in range(64)))

    boards = asyncio.run(many())
    assert all(board is boards[0] for board in boards)
    assert boards[0].positions == {"q": 1}
    assert store.reads == 1


def test_a_caller_that_gives_up_leaves_the_read_to_the_others() -> None:
    _, store, estimates = counting_estimates()

    async def first_gives_up() -> list[Board]:
        first = asyncio.ensure_future(estimates.board("q"))
        others = [asyncio.ensure_future(estimates.board("q")) for _ in range(3)]
        await asyncio.sleep(0)  # every caller waits on the read
        first.cancel()  # its client went away
        return await asyncio.gather(*others)

    boards = asyncio.run(first_gives_up())
    assert all(board.positions == {"q": 1} for board in boards)
    assert store.reads == 1  # the read was not cancelled with the first caller


def test_a_failed_read_reaches_every_waiter_and_the_next_caller_reads_again() -> None:
    server, store, estimates = counting_estimates()
    server.connected = False  # Redis is down

    async def many() -> list[Board | BaseException]:
        return await asyncio.gather(
            *(estimates.board("q") for _ in range(3)), return_exceptions=True
        )

    outcomes = asyncio.run(many())
    assert all(isinstance(outcome, JobStoreUnavailable) for outcome in outcomes)
    assert store.reads == 1  # one failure for all of them, not one after another
    server.connected = True
    assert asyncio.run(estimates.board("q")).positions == {"q": 1}


def board_of_an_empty_lane() -> tuple[JobStore, Estimates]:
    """A lane that has run a job (its model), and a board read while nothing ran in it."""
    server = fakeredis.FakeServer()
    store = JobStore(fakeredis.FakeRedis(server=server), NAMES)
    store.add_run_sample(Lane.SMALL, RunSample(10 * MB, 1.0, 0.9), {"jobs": 2, "large": 1})
    estimates = Estimates(AsyncJobStore(fakeredis.FakeAsyncRedis(server=server), NAMES))
    asyncio.run(estimates.board())
    return store, estimates


def queued_behind_two_started(store: JobStore, started: datetime, queued: datetime) -> JobRecord:
    """Two jobs started at ``started`` take the lane's slots; a third, queued at ``queued``."""
    for job_id in ("r1", "r2"):
        store.create(job(job_id, JobStatus.PROCESSING, started_at=started, created_at=started))
    record = job("q", JobStatus.QUEUED, created_at=queued)
    store.create(record)
    return record


def test_a_job_the_board_does_not_know_yet_makes_it_read_again() -> None:
    # Given a board read while the lane was empty
    store, estimates = board_of_an_empty_lane()

    # When two jobs start and a third is queued behind them, within the board's second
    now = utcnow()
    queued = queued_behind_two_started(store, now, now + timedelta(milliseconds=1))
    time.sleep(UNKNOWN_JOB_REREAD_SECONDS)

    # Then the third one waits for them, not for the empty lane the board had seen
    start_in = asyncio.run(estimates.of(queued)).start_in
    assert start_in is not None and start_in > 5, start_in


def test_a_job_created_after_the_board_was_read_makes_it_read_again_at_once() -> None:
    # Given a board read while the lane was empty
    store, estimates = board_of_an_empty_lane()

    # When two jobs start and a third is queued behind them at once (a fast upload: well
    # within the moment that a burst of jobs unknown to the board waits for one read)
    now = utcnow() + timedelta(milliseconds=2)
    queued = queued_behind_two_started(store, now, now)

    # Then the third one waits for them (it was told 0 s: the empty lane of the old board)
    start_in = asyncio.run(estimates.of(queued)).start_in
    assert start_in is not None and start_in > 5, start_in


def test_the_board_places_each_queued_job_as_its_lanes_queue_does() -> None:
    # Given jobs queued in both lanes, created out of order, and one taken by a worker
    server = fakeredis.FakeServer()
    store = JobStore(fakeredis.FakeRedis(server=server), NAMES)
    now = utcnow()
    created = {"a": 3, "b": 1, "c": 2, "d": 2, "e": 0, "r": -1}
    lanes = {"c": Lane.LARGE}
    records = {
        job_id: job(
            job_id,
            JobStatus.QUEUED,
            lanes.get(job_id, Lane.SMALL),
            created_at=now + timedelta(seconds=offset),
        )
        for job_id, offset in created.items()
    }
    for record in records.values():
        store.create(record)
    store.transition(records["r"], {JobStatus.QUEUED}, JobStatus.PROCESSING, {"startedAt": now})
    estimates = Estimates(AsyncJobStore(fakeredis.FakeAsyncRedis(server=server), NAMES))

    async def places() -> dict[str, int | None]:
        return {job_id: await estimates.queue_position(job_id) for job_id in records}

    # Then the board gives each queued job the place Redis's queue of its lane gives it,
    # and none to the running one
    expected = {job_id: store.queue_position(job_id, r.lane) for job_id, r in records.items()}
    assert asyncio.run(places()) == expected == {
        "e": 1, "b": 2, "d": 3, "a": 4, "c": 1, "r": None
    }  # fmt: skip
