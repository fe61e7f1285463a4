"""The worker pool against real RabbitMQ, Redis, storage and worker processes."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from reports_shared.jobstore import JobStore
from reports_shared.messages import JobMessage, to_dramatiq
from reports_shared.settings import CommonSettings, load_settings
from tests.support.jobs import RunningJobs, demora_stack, submit
from tests.support.stacks import StackFactory, wait_until


def test_never_more_than_two_jobs_run_at_once_across_four_workers(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given four worker processes and twenty jobs of about half a second each
    stack = demora_stack(make_stack, running_dir, workers=4)
    with RunningJobs(running_dir) as sampler:
        jobs = [submit(stack, [{"sleep": 0.5}]) for _ in range(20)]
        # When they have all run
        finals = [stack.wait_finished(job, timeout=120) for job in jobs]
    # Then all completed, each built once, and never more than two at once
    assert [f["status"] for f in finals] == ["Completed"] * 20
    assert sorted(job for job, _, _ in sampler.spans()) == sorted(jobs)
    assert sampler.most_at_once() == 2


def test_a_job_longer_than_the_lease_ttl_does_not_let_a_third_one_in(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given leases of 2 s and two jobs of 6 s holding both slots
    stack = demora_stack(make_stack, running_dir, workers=3, lease_ttl_seconds=2)
    with RunningJobs(running_dir) as sampler:
        long_jobs = [submit(stack, [{"sleep": 6}]) for _ in range(2)]
        wait_until(lambda: len(sampler.now()) == 2, 30, what="both long jobs to start")
        third = submit(stack, [{"sleep": 0}])
        # When the leases' TTL has passed three times over
        time.sleep(4)
        # Then the third job is still waiting
        assert stack.status(third)["status"] == "Queued"
        for job in [*long_jobs, third]:
            assert stack.wait_finished(job, timeout=60)["status"] == "Completed"
    assert sampler.most_at_once() == 2


def test_a_killed_worker_job_completes_once_and_its_slot_comes_back(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a job running on one of two workers
    stack = demora_stack(make_stack, running_dir, workers=2, lease_ttl_seconds=3)
    job = submit(stack, [{"sleep": 2}, {"sleep": 2}])
    wait_until(lambda: any(running_dir.iterdir()), 30, what="the job to start")
    pid = int(next(running_dir.iterdir()).read_text())

    # When its worker process is killed with SIGKILL
    psutil.Process(pid).kill()

    # Then the job completes, delivered again, with one ZIP in storage
    final = stack.wait_finished(job, timeout=90)
    assert final["status"] == "Completed", final
    assert len(list(stack.objects().list(f"results/{job}/"))) == 1
    # And the cap is whole again: two jobs, held until both are seen running, run together
    release = running_dir.parent / "release"
    with RunningJobs(running_dir) as sampler:
        pair = [submit(stack, [{"hold": str(release), "n": n}]) for n in range(2)]
        wait_until(lambda: sampler.peak == 2, 60, what="both jobs to run at once")
        release.touch()
        for other in pair:
            assert stack.wait_finished(other, timeout=60)["status"] == "Completed"
    assert sampler.peak == 2


def test_a_job_that_kills_its_worker_every_time_fails_after_three_deliveries(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a payload that crashes any worker that reads it
    stack = demora_stack(make_stack, running_dir, workers=2, lease_ttl_seconds=2)
    job = submit(stack, [{"crash": True}])
    # When it has been delivered again and again
    final = stack.wait_finished(job, timeout=120)
    # Then it ends Failed, saying why, instead of looping
    assert final["status"] == "Failed"
    assert "3 veces" in final["message"]
    # And the workers still serve other jobs
    assert stack.wait_finished(submit(stack, [{"sleep": 0}]))["status"] == "Completed"


def test_a_small_job_starts_while_two_large_ones_run(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given two large jobs of 5 s each, submitted first
    stack = demora_stack(make_stack, running_dir, workers=3)
    large = [submit(stack, [{"sleep": 5}], large=True) for _ in range(2)]
    wait_until(lambda: any(running_dir.iterdir()), 30, what="a large job to start")
    # When a small job is submitted behind them
    small = submit(stack, [{"sleep": 0}])
    # Then it completes before either large one has finished
    assert stack.wait_finished(small, timeout=30)["status"] == "Completed"
    assert {stack.status(job)["status"] for job in large} <= {"Queued", "Processing"}
    for job in large:
        assert stack.wait_finished(job, timeout=60)["status"] == "Completed"


def test_progress_shows_while_a_job_runs(make_stack: StackFactory, running_dir: Path) -> None:
    # Given a job of 4,000 records taking about four seconds
    stack = demora_stack(make_stack, running_dir, workers=1)
    job = submit(stack, [{"sleep": 0.001}] * 4000)
    # When it runs, the status shows records and a percentage moving (about once a second)
    seen = set()

    def partway() -> bool:
        body = stack.status(job)
        progress = body["progress"]
        if body["status"] == "Processing" and 0 < progress["recordsProcessed"] < 4000:
            seen.add(progress["recordsProcessed"])
            assert 0 < progress["percent"] < 100
        return len(seen) >= 2 or body["status"] == "Completed"

    wait_until(partway, 30, 0.2, "progress to move")
    assert len(seen) >= 2
    assert stack.wait_finished(job)["progress"]["percent"] == 100.0


def test_progress_counts_the_dataset_as_sent_though_storage_holds_it_compressed(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a job of about four seconds whose dataset storage holds in ~1 % of its size
    stack = demora_stack(make_stack, running_dir, workers=1)
    job = submit(stack, [{"sleep": 0.001}] * 4000)
    # When it runs, its percentage goes on to near the end (counted in stored bytes, it
    # would stop at ~1 %: the whole stored object is read at the first batch)
    percents: list[float] = []

    def finished() -> bool:
        body = stack.status(job)
        if body["status"] == "Processing":
            percents.append(body["progress"]["percent"])
        return body["status"] in {"Completed", "Failed"}

    wait_until(finished, 30, 0.1, "the job to finish")
    assert stack.status(job)["status"] == "Completed"
    assert max(percents) >= 50, percents


def test_a_worker_runs_with_two_malloc_arenas_unless_told_otherwise(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # With glibc's default of 8 arenas per core, what each job left scattered in its
    # threads' arenas stayed: the worker process grew from 46 to 84 MB over jobs of 45,000
    # to 600,000 invoices, where it stays at ~50 MB with 2 (docs/contributors/performance.md).
    stack = demora_stack(make_stack, running_dir, workers=1)
    job = submit(stack, [{"sleep": 0}])
    assert stack.wait_finished(job)["status"] == "Completed"
    processes = stack.worker_children()
    assert processes
    for process in processes:  # dramatiq's, and the helpers' server once a build started one
        assert process.environ().get("MALLOC_ARENA_MAX") == "2", process.cmdline()


@pytest.mark.parametrize(("settings", "helpers"), [({}, False), ({"build_processes": 2}, True)])
def test_a_worker_starts_the_helpers_server_only_when_builds_may_use_helpers(
    make_stack: StackFactory, running_dir: Path, settings: dict[str, Any], helpers: bool
) -> None:
    # Given a worker by default (every build in one process), or one whose builds take helpers
    stack = demora_stack(make_stack, running_dir, workers=1, **settings)
    job = submit(stack, [{"sleep": 0}])
    assert stack.wait_finished(job)["status"] == "Completed"
    # Then only the second runs multiprocessing's fork server and resource tracker beside
    # dramatiq's processes (22 MB of PSS standing, docs/operators/capacity.md)
    commands = [" ".join(process.cmdline()) for process in stack.worker_children()]
    assert any("multiprocessing.forkserver" in c for c in commands) is helpers, commands
    assert any("multiprocessing.resource_tracker" in c for c in commands) is helpers, commands


def test_sigterm_lets_the_running_job_finish(make_stack: StackFactory, running_dir: Path) -> None:
    # Given a job of three seconds running on the only worker
    stack = demora_stack(make_stack, running_dir, workers=1)
    job = submit(stack, [{"sleep": 3}])
    wait_until(lambda: any(running_dir.iterdir()), 30, what="the job to start")
    # When the worker is asked to stop (a deploy, a scale-down)
    worker = stack.supervisor.services["worker-1"].process
    assert worker is not None
    worker.send_signal(signal.SIGTERM)
    # Then the job is finished, not lost and not half-done: one ZIP, Completed
    final = stack.wait_finished(job, timeout=60)
    assert final["status"] == "Completed", final
    assert len(list(stack.objects().list(f"results/{job}/"))) == 1


def test_a_message_delivered_again_for_a_completed_job_does_nothing(
    make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a completed job
    stack = demora_stack(make_stack, running_dir, workers=1)
    job = submit(stack, [{"sleep": 0}])
    done = stack.wait_finished(job)
    # When its message arrives once more (a redelivery after a lost ack)
    settings = load_settings(CommonSettings, stack.env)
    record = JobStore.from_url(settings.redis_url, settings.names).get(job)
    assert record is not None
    broker = RabbitmqBroker(url=settings.amqp_url, confirm_delivery=True, middleware=[])
    message = JobMessage(job_id=job, report_type="Demora", payload_key=record.payload_key)
    broker.enqueue(to_dramatiq(message, settings.names))
    broker.close()
    # Then the worker takes it and lets it go (it logs the skip) ...
    wait_until(lambda: "job_skipped" in stack.events(job), 30, what="the redelivery to be seen")
    # ... and nothing changed: same completion, one ZIP
    again = stack.status(job)
    assert (again["status"], again["completedAt"]) == ("Completed", done["completedAt"])
    assert len(list(stack.objects().list(f"results/{job}/"))) == 1
    assert not any(running_dir.iterdir())
