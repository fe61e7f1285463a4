"""The estimator: a running job's time left, a queue's starts, the lane model, the poll."""

from __future__ import annotations

import pytest

from reports_shared.eta import (
    MIN_SECONDS_LEFT,
    SLOT_RETRY_LAG_SECONDS,
    LaneModel,
    RunSample,
    poll_after,
    queue_starts,
    running_seconds_left,
)

MB = 1_000_000
#: 10 MB/s, no overhead, a tenth of each build after its reading.
STEADY = LaneModel(overhead=0.0, seconds_per_byte=1 / (10 * MB), finish_share=0.1)


def test_a_job_past_a_quarter_is_extrapolated_from_its_own_rate() -> None:
    # Half read in 5 s: 10 s of reading, 11.1 s in all with the lane's tenth after it.
    left = running_seconds_left(total_bytes=100 * MB, processed_bytes=50 * MB,
                                read_elapsed=5.0, elapsed=6.0, model=STEADY)  # fmt: skip
    assert left == pytest.approx(10 / 0.9 - 6.0)


def test_its_own_rate_wins_over_the_lanes_once_trusted() -> None:
    # The lane says 10 s, but this job reads at half that speed.
    left = running_seconds_left(total_bytes=100 * MB, processed_bytes=50 * MB,
                                read_elapsed=10.0, elapsed=10.0, model=STEADY)  # fmt: skip
    assert left == pytest.approx(20 / 0.9 - 10.0)


def test_a_job_without_progress_yet_is_given_its_lanes_expected_duration() -> None:
    left = running_seconds_left(total_bytes=100 * MB, processed_bytes=0,
                                read_elapsed=0.0, elapsed=2.0, model=STEADY)  # fmt: skip
    assert left == pytest.approx(10.0 - 2.0)


def test_early_progress_is_blended_with_the_lanes_expectation() -> None:
    # 10 % read in 2 s says 22.2 s; the lane says 10 s; at 10 % of 25 % the blend is 40/60.
    left = running_seconds_left(total_bytes=100 * MB, processed_bytes=10 * MB,
                                read_elapsed=2.0, elapsed=2.0, model=STEADY)  # fmt: skip
    assert left == pytest.approx(0.4 * 20 / 0.9 + 0.6 * 10.0 - 2.0)


def test_a_job_with_no_progress_in_a_lane_with_no_samples_has_no_estimate() -> None:
    left = running_seconds_left(total_bytes=100 * MB, processed_bytes=0,
                                read_elapsed=0.0, elapsed=2.0, model=None)  # fmt: skip
    assert left is None


def test_a_job_past_its_expected_end_is_about_to_finish() -> None:
    left = running_seconds_left(total_bytes=100 * MB, processed_bytes=100 * MB,
                                read_elapsed=10.0, elapsed=30.0, model=STEADY)  # fmt: skip
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


def test_no_usable_sample_gives_no_model() -> None:
    assert LaneModel.fit([RunSample(0, 1.0, 1.0), RunSample(MB, 0.0, 0.0)]) is None


def test_a_poller_waits_half_the_time_left_within_bounds() -> None:
    assert poll_after(9.0, 2, (1, 30)) == 4
    assert poll_after(0.4, 2, (1, 30)) == 1
    assert poll_after(600.0, 2, (1, 30)) == 30


def test_a_poller_without_an_estimate_waits_the_default() -> None:
    assert poll_after(None, 2, (1, 30)) == 2
