"""The status's estimates against a live stack: a running job's time left, a queued job's
start, and Retry-After following them.

The jobs are Demora jobs of padded records that sleep a fixed time each, so a job reads
its payload at a steady rate whatever the machine's load, over several batches (about
1 MB each) and so several progress figures.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support.jobs import demora_stack, submit
from tests.support.stacks import RunningStack, StackFactory, wait_until

Q = "/api/AsyncReports"
#: A record of about 1 KB that takes 2 ms: 1 MB of payload every 2 s.
PADDED = {"sleep": 0.002, "pad": "x" * 1000}


def records(seconds: float) -> list[dict[str, Any]]:
    """A Demora dataset that takes about ``seconds`` (about half a MB a second)."""
    return [PADDED] * int(seconds / 0.002)


def epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def plausible(estimate: float, actual: float) -> bool:
    """Within a factor of two, give or take a second: the test shows the estimate is made
    of the right figures; how close it comes is measured by bench/eta_error.py (a test
    stack on a loaded machine runs at the machine's pace, not the estimate's)."""
    return actual / 2 - 1 <= estimate <= 2 * actual + 1


def status_when(stack: RunningStack, job_id: str, fits: Any, timeout: float = 30) -> Any:
    """The job's status and Retry-After, once ``fits(body)``; with when it was read."""

    def read() -> tuple[float, dict[str, Any], str | None] | None:
        response = stack.client.get(f"{Q}/status/{job_id}")
        body = response.json()
        return (time.time(), body, response.headers.get("Retry-After")) if fits(body) else None

    return wait_until(read, timeout, 0.2, f"job {job_id} to show what the test waits for")


def finish_sampled_lane(stack: RunningStack) -> None:
    """One job of the lane run to the end: the lane's first sample."""
    first = submit(stack, records(1.0))
    assert stack.wait_finished(first)["status"] == "Completed"


def test_a_running_job_tells_its_seconds_left_from_its_own_rate(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a job of about 10 s, a third of it read
    stack = demora_stack(make_stack, running_dir)
    job = submit(stack, records(10.0))
    read_at, body, _ = status_when(
        stack, job, lambda b: b["status"] == "Processing" and b["progress"]["percent"] >= 30
    )

    # Then its status says when it will be done, and nothing of a start
    left = body["estimatedSecondsLeft"]
    assert left is not None and body["estimatedStartIn"] is None, body
    # And that is about when it is done
    ended = stack.wait_finished(job)
    actual = epoch(ended["completedAt"]) - read_at
    assert plausible(left, actual), (left, actual)
    # And a finished job has no estimate
    assert ended["estimatedSecondsLeft"] is None and ended["estimatedStartIn"] is None


def test_a_job_queued_behind_two_running_ones_tells_when_it_starts(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a lane that has run a job, and its two slots taken by jobs of about 10 s
    stack = demora_stack(make_stack, running_dir, max_concurrent_jobs=2)
    finish_sampled_lane(stack)
    running = [submit(stack, records(10.0)) for _ in range(2)]
    for job in running:
        status_when(stack, job, lambda b: b["status"] == "Processing")

    # When a third one waits behind them
    queued = submit(stack, records(2.0))
    read_at, body, _ = status_when(stack, queued, lambda b: b["status"] == "Queued")

    # Then its status says when it starts, and when it will be done after that
    start_in = body["estimatedStartIn"]
    assert start_in is not None and body["queuePosition"] == 1, body
    assert body["estimatedSecondsLeft"] > start_in
    # And it starts about then
    ended = stack.wait_finished(queued)
    actual = epoch(ended["startedAt"]) - read_at
    assert plausible(start_in, actual), (start_in, actual)


def test_retry_after_is_half_the_estimated_time_left(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a job of about 16 s, a fifth of it read
    stack = demora_stack(make_stack, running_dir)
    job = submit(stack, records(16.0))
    _, body, retry_after = status_when(
        stack, job, lambda b: b["status"] == "Processing" and b["progress"]["percent"] >= 20
    )

    # Then a poller is told to come back when about half of what is left has passed
    left = body["estimatedSecondsLeft"]
    assert left > 6, body  # past the 2 s that Retry-After said of every job before estimates
    # (at most 30 s: a machine slow enough to estimate more than a minute left gets that)
    half = min(left / 2, 30)
    assert retry_after is not None and abs(int(retry_after) - half) <= 1, (retry_after, left)
    stack.wait_finished(job)


def test_after_a_job_of_a_few_records_a_larger_one_is_not_told_to_wait_minutes(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a lane whose only finished job had a few records: over in hundredths of a
    # second, all of it set-up and finishing, none of it a rate
    stack = demora_stack(make_stack, running_dir)
    tiny = submit(stack, [{"sleep": 0}] * 3)
    assert stack.wait_finished(tiny)["status"] == "Completed"

    # When a job of about 4 s and 2 MB comes
    job = submit(stack, records(4.0))
    _, body, retry_after = status_when(
        stack, job, lambda b: b["status"] in ("Queued", "Processing")
    )

    # Then its estimate is of seconds, not of the minutes that the small job's fixed costs
    # spread over its few bytes would make of 2 MB, and a poller comes back within seconds
    left = body["estimatedSecondsLeft"]
    assert left is not None and left < 30, body
    assert retry_after is not None and int(retry_after) <= 15, retry_after
    assert stack.wait_finished(job)["status"] == "Completed"
