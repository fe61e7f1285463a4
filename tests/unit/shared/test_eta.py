"""The estimator: a running job's time left, a queue's starts, the lane model, the poll."""

from __future__ import annotations

import msgspec
import pytest

from reports_shared.eta import (
    DEFAULT_FINISH_SHARE,
    DEFAULT_SECONDS_PER_BYTE,
    MIN_SECONDS_LEFT,
    SLOT_RETRY_LAG_SECONDS,
    LaneModel,
    Reading,
    RunSample,
    poll_after,
    queue_starts,
    running_seconds_left,
)

MB = 1_000_000
#: 10 MB/s, no overhead, a tenth of each build after its reading.
STEADY = LaneModel(overhead=0.0, seconds_per_byte=1 / (10 * MB), finish_share=0.1)


def test_a_job_past_a_quarter_is_extrapolated_from_its_own_rate() -> None:
    # 50 MB more read in the 5 s after its first figure: 10 MB/s, the reading over at 11 s,
    # the build at 11 / 0.9 s with the lane's tenth after its reading.
    reading = Reading(first_bytes=10 * MB, first_elapsed=1.0, last_bytes=60 * MB, last_elapsed=6.0)
    left = running_seconds_left(total_bytes=100 * MB, reading=reading, elapsed=7.0, model=STEADY)
    assert left == pytest.approx(11 / 0.9 - 7.0)


def test_its_own_rate_wins_over_the_lanes_once_trusted() -> None:
    # The lane says 10 s in all, but this job reads at half that speed.
    reading = Reading(first_bytes=10 * MB, first_elapsed=1.0, last_bytes=60 * MB, last_elapsed=11.0)
    left = running_seconds_left(total_bytes=100 * MB, reading=reading, elapsed=11.0, model=STEADY)
    assert left == pytest.approx(21 / 0.9 - 11.0)


def test_a_batch_read_ahead_at_once_does_not_make_a_job_look_done() -> None:
    # A quarter of the payload read in the first 50 ms: one figure, no rate yet.
    reading = Reading(first_bytes=25 * MB, first_elapsed=0.05, last_bytes=25 * MB,
                      last_elapsed=0.05)  # fmt: skip
    left = running_seconds_left(total_bytes=100 * MB, reading=reading, elapsed=1.0, model=STEADY)
    assert left == pytest.approx(10.0 - 1.0)


def test_a_rate_over_a_burst_alone_is_not_trusted() -> None:
    # A build with a helper hands on two parts at once: 30 MB more 10 ms after the first
    # figure says 3 GB/s; the lane's expectation answers instead (before: MIN_SECONDS_LEFT)
    burst = Reading(first_bytes=10 * MB, first_elapsed=1.0, last_bytes=40 * MB,
                    last_elapsed=1.01)  # fmt: skip
    left = running_seconds_left(total_bytes=100 * MB, reading=burst, elapsed=1.5, model=STEADY)
    assert left == pytest.approx(10.0 - 1.5)
    # And a rate over longer is: 30 MB in 3 s, the reading over at 11 s
    steady = Reading(first_bytes=10 * MB, first_elapsed=1.0, last_bytes=40 * MB, last_elapsed=4.0)
    left = running_seconds_left(total_bytes=100 * MB, reading=steady, elapsed=4.0, model=STEADY)
    assert left == pytest.approx(11.0 / 0.9 - 4.0)


def test_a_job_without_progress_yet_is_given_its_lanes_expected_duration() -> None:
    left = running_seconds_left(total_bytes=100 * MB, reading=None, elapsed=2.0, model=STEADY)
    assert left == pytest.approx(10.0 - 2.0)


def test_early_progress_is_blended_with_the_lanes_expectation() -> None:
    # 10 MB in 2 s after the first figure says 20.5 s of reading; the lane says 10 s in
    # all; at 10 % read (of the 25 % trusted) the blend is 40/60.
    reading = Reading(first_bytes=5 * MB, first_elapsed=0.5, last_bytes=15 * MB, last_elapsed=2.5)
    left = running_seconds_left(total_bytes=100 * MB, reading=reading, elapsed=2.5, model=STEADY)
    assert left == pytest.approx(0.4 * 20.5 / 0.9 + 0.6 * 10.0 - 2.5)


def test_a_job_with_no_rate_in_a_lane_with_no_samples_has_no_estimate() -> None:
    assert running_seconds_left(total_bytes=100 * MB, reading=None, elapsed=2.0, model=None) is None


def test_a_job_past_its_expected_end_is_about_to_finish() -> None:
    reading = Reading(first_bytes=0, first_elapsed=0.0, last_bytes=100 * MB, last_elapsed=10.0)
    left = running_seconds_left(total_bytes=100 * MB, reading=reading, elapsed=30.0, model=STEADY)
    assert left == MIN_SECONDS_LEFT


def test_a_lane_with_free_slots_starts_its_first_jobs_at_once() -> None:
    starts = queue_starts(queued=[10 * MB, 10 * MB], running_left=[], slots=2, model=STEADY)
    assert starts is not None
    assert starts[:2] == [0.0, 0.0]


def test_queued_jobs_take_the_slots_as_the_running_jobs_free_them() -> None:
    lag = SLOT_RETRY_LAG_SECONDS
    starts = queue_starts(queued=[10 * MB, 20 * MB, 10 * MB], running_left=[3.0, 8.0],
                          slots=2, model=STEADY)  # fmt: skip
    first_ends = 3 + lag + 1 + lag  # the 1st (1 s) takes the slot free at 3
    second_ends = first_ends + 2 + lag  # the 2nd (2 s) the same slot, before the other's 8
    # The 3rd waits for the 2nd's end, a job after them for the slot free at 8.
    assert starts == pytest.approx([3 + lag, first_ends, second_ends, 8 + lag])


def test_a_lane_without_samples_cannot_say_when_its_queue_starts() -> None:
    assert queue_starts(queued=[MB], running_left=[3.0], slots=2, model=None) is None


def test_samples_of_one_size_give_their_average_rate() -> None:
    model = LaneModel.fit([RunSample(10 * MB, 2.0, 1.8), RunSample(10 * MB, 1.0, 0.9)])
    assert model is not None
    assert model.duration(20 * MB) == pytest.approx(3.0)


def test_a_builds_set_up_is_not_counted_in_its_rate() -> None:
    # 1 MB in 2 s, 1 s of it before the first figure: a 10 MB build takes 1 + 10 s.
    model = LaneModel.fit([RunSample(MB, 2.0, 2.0, setup_seconds=1.0)])
    assert model is not None
    assert model.duration(10 * MB) == pytest.approx(11.0)


def test_samples_written_before_the_set_up_was_recorded_still_read() -> None:
    decoded = msgspec.json.decode(b"[1000000,2.0,1.5]", type=RunSample)
    assert decoded == RunSample(MB, 2.0, 1.5, setup_seconds=0.0)


def test_samples_of_different_sizes_give_a_line_with_an_overhead() -> None:
    samples = [RunSample(b * MB, 0.5 + b / 10, 0.5 + b / 10) for b in (1, 10, 40)]
    model = LaneModel.fit(samples)
    assert model is not None
    assert model.overhead == pytest.approx(0.5)
    assert model.duration(100 * MB) == pytest.approx(10.5)


def test_the_finishing_share_is_the_median_of_the_samples() -> None:
    samples = [RunSample(MB, 10.0, 9.0), RunSample(MB, 10.0, 8.0), RunSample(MB, 10.0, 2.0)]
    model = LaneModel.fit(samples)
    assert model is not None
    assert model.finish_share == pytest.approx(0.2)


#: A build of a few records as a worker samples it: 348 bytes in 0.034 s, its reading
#: over 0.01 s after its first figure.
TINY = RunSample(348, 0.034, 0.022, setup_seconds=0.012)


def test_builds_too_short_to_time_give_their_length_plus_the_default_rate() -> None:
    model = LaneModel.fit([TINY, TINY])
    assert model is not None
    # 7 MB at 10 MB/s after the small builds' whole length, not 7 MB at 348 bytes a 0.02 s
    assert model.duration(7 * MB) == pytest.approx(0.034 + 7 * MB * DEFAULT_SECONDS_PER_BYTE)
    assert model.finish_share == DEFAULT_FINISH_SHARE


def test_builds_too_short_to_time_bend_neither_rate_nor_finishing_share() -> None:
    timed = RunSample(10 * MB, 1.0, 0.9)
    model = LaneModel.fit([TINY, TINY, TINY, timed])
    alone = LaneModel.fit([timed])
    assert model == alone


def test_a_fast_build_of_a_batchs_payload_still_tells_a_rate() -> None:
    # 5 MB read in 0.15 s (under the time bound): its own rate, not the default one
    fast = RunSample(5 * MB, 0.3, 0.2, setup_seconds=0.05)
    model = LaneModel.fit([fast])
    assert model is not None
    assert model.duration(50 * MB) == pytest.approx(0.05 + 10 * 0.25)


def test_no_usable_sample_gives_no_model() -> None:
    assert LaneModel.fit([RunSample(0, 1.0, 1.0), RunSample(MB, 0.0, 0.0)]) is None


def test_a_poller_waits_half_the_time_left_within_bounds() -> None:
    assert poll_after(9.0, 2, (1, 30)) == 4
    assert poll_after(0.4, 2, (1, 30)) == 1
    assert poll_after(600.0, 2, (1, 30)) == 30


def test_a_poller_without_an_estimate_waits_the_default() -> None:
    assert poll_after(None, 2, (1, 30)) == 2
