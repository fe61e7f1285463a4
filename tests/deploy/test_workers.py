"""Worker containers scaled, killed, stopped and cut off the network mid-job."""

from __future__ import annotations

import threading
import time

from tests.deploy.stack import Stack, run, sleeps, wait_until

CAP = 2


def _demora_records(status: dict[str, object]) -> int:
    metrics = status["performanceMetrics"]
    assert isinstance(metrics, dict)
    return int(metrics["recordsProcessed"])


class ProcessingSampler:
    """Samples how many jobs are Processing (via /active-jobs) from a thread; keeps the peak."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.stack.processing())
                self.samples += 1
            except Exception:  # a sample lost while containers come and go
                pass
            self._stop.wait(0.2)

    def __enter__(self) -> ProcessingSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def test_three_workers_never_run_more_than_the_cap_and_scaling_back_loses_nothing(
    stack: Stack,
) -> None:
    # Given 8 jobs of 4 s queued while one worker runs
    jobs = [stack.submit(sleeps(4, each=0.5)) for _ in range(8)]
    with ProcessingSampler(stack) as sampler:
        # When the workers are scaled to 3, then back to 1 while jobs are still in flight
        stack.up("--scale", "worker=3")
        assert len(stack.containers("worker")) == 3
        wait_until(lambda: sum(stack.status(j)["status"] == "Completed" for j in jobs) >= 3,
                   90, what="three jobs to complete")  # fmt: skip
        stack.scale_down(1)
        assert len(stack.containers("worker")) == 1
        finals = [stack.wait_finished(job, timeout=180) for job in jobs]
    # Then never more than 2 ran at once, and every job completed with all its records
    assert sampler.samples > 20
    assert sampler.peak <= CAP, sampler.peak
    assert [f["status"] for f in finals] == ["Completed"] * 8
    assert [_demora_records(f) for f in finals] == [8] * 8
    assert all(len(stack.results(job)) == 1 for job in jobs)


def test_a_worker_container_killed_mid_job_the_job_completes_once(stack: Stack) -> None:
    # Given a job running on one of two worker containers
    stack.up("--scale", "worker=2")
    job = stack.submit(sleeps(8))
    stack.wait_status(job, {"Processing"}, 60)
    runner = stack.runner_of(job)
    # When that container is killed (SIGKILL)
    run("podman", "kill", "--signal", "KILL", runner)
    # Then the job completes, once, with every record
    final = stack.wait_finished(job, timeout=180)
    assert final["status"] == "Completed", final
    assert _demora_records(final) == 8
    assert len(stack.results(job)) == 1
    # And the killed container starts again and serves (podman applies no restart policy
    # after `podman kill`: that counts as stopped on purpose)
    run("podman", "start", runner)
    assert stack.wait_finished(stack.submit(sleeps(1)))["status"] == "Completed"


def test_a_worker_container_stopped_mid_job_finishes_it_within_its_grace(stack: Stack) -> None:
    # Given a job running on the only worker container
    stack.scale_down(1)
    job = stack.submit(sleeps(10))
    stack.wait_status(job, {"Processing"}, 60)
    runner = stack.runner_of(job)
    started = time.monotonic()
    # When compose stops the worker (SIGTERM, then its stop_grace_period)
    stack.compose("stop", "worker")
    took = time.monotonic() - started
    # Then the stop waited for the report, which that container completed
    final = stack.status(job)
    assert final["status"] == "Completed", final
    assert _demora_records(final) == 10
    assert '"job_started"' in stack.logs(runner)
    assert took < 60
    stack.up()


def test_a_worker_cut_off_past_its_lease_does_not_publish_over_the_other_run(
    stack: Stack,
) -> None:
    # Given a 30 s job running on one of two workers (leases last 10 s)
    stack.up("--scale", "worker=2")
    job = stack.submit(sleeps(30))
    stack.wait_status(job, {"Processing"}, 60)
    runner = stack.runner_of(job)
    # When that worker is cut off the network for longer than its lease
    run("podman", "network", "disconnect", stack.network, runner)
    try:
        # Then the job is run again elsewhere and completes
        first = stack.wait_status(job, {"Completed", "Failed"}, timeout=120)
        assert first["status"] == "Completed", first
        zip_before = stack.download(first)
        keys_before = stack.results(job)
    finally:
        run("podman", "network", "connect", stack.network, runner)
    # And once the cut-off worker is back and its own run has ended, it has replaced,
    # deleted or duplicated nothing
    time.sleep(40)
    final = stack.status(job)
    assert final["status"] == "Completed"
    assert final["downloadUrl"] == first["downloadUrl"]
    assert stack.results(job) == keys_before
    assert len(keys_before) == 1
    assert stack.download(final) == zip_before
