"""A worker that lost its lease (paused, frozen, cut off) must not publish, replace or delete."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import psutil

from tests.support.jobs import demora_stack, submit
from tests.support.stacks import RunningStack, StackFactory, wait_until, zip_bytes

#: Log events that end one run of a job, whatever its outcome.
RUN_ENDS = {"job_completed", "job_result_discarded", "job_run_fenced", "job_failed"}


def run_ends(stack: RunningStack, job_id: str) -> list[str]:
    """The end-of-run events the stack's workers logged for one job, in order."""
    return [event for event in stack.events(job_id) if event in RUN_ENDS]


def test_a_worker_paused_past_its_lease_never_publishes_nor_deletes_the_report(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a job of eight one-second records running on one of two workers
    stack = demora_stack(make_stack, running_dir, workers=2, lease_ttl_seconds=3)
    job = submit(stack, [{"sleep": 1}] * 8)
    marker = running_dir / job
    wait_until(marker.exists, 30, what="the job to start")
    paused = psutil.Process(int(marker.read_text()))

    # When that worker is paused (SIGSTOP) until another worker has taken the job over
    paused.suspend()
    try:
        wait_until(
            lambda: marker.exists() and marker.read_text() != str(paused.pid),
            60,
            what="another worker to take the job over",
        )
    finally:
        paused.resume()  # SIGCONT: it wakes up with a lease that lapsed long ago

    # Then, once both runs have ended, the job is Completed once, by the run that held it
    wait_until(lambda: len(run_ends(stack, job)) >= 2, 90, what="both runs to end")
    assert run_ends(stack, job).count("job_completed") == 1, run_ends(stack, job)
    final = stack.status(job)
    assert final["status"] == "Completed", final
    # And its ZIP is there, the only one, and downloadable
    assert len(list(stack.objects().list(f"results/{job}/"))) == 1
    with zipfile.ZipFile(zip_bytes(stack.client.get(final["downloadUrl"]))) as archive:
        assert json.loads(archive.read("demora.json")) == {"records": 8}
