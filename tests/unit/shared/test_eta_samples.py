"""The lanes' samples in Redis: written by the worker, read by the api with the active jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import fakeredis

from reports_shared.constants import JobStatus, Lane, Names
from reports_shared.eta import SAMPLES_KEPT, EstimateInputs, RunSample
from reports_shared.jobs import JobRecord
from reports_shared.jobstore import AsyncJobStore, JobStore

NAMES = Names("unit")
SLOTS = {"jobs": 2, "large": 1}


def read_inputs(server: fakeredis.FakeServer) -> EstimateInputs:
    store = AsyncJobStore(fakeredis.FakeAsyncRedis(server=server), NAMES)
    return asyncio.run(store.estimate_inputs())


def test_a_lane_keeps_its_newest_samples_and_the_caps() -> None:
    server = fakeredis.FakeServer()
    jobs = JobStore(fakeredis.FakeRedis(server=server), NAMES)
    for size in range(1, SAMPLES_KEPT + 6):
        jobs.add_run_sample(Lane.LARGE, RunSample(size, 1.0, 0.9), SLOTS)

    inputs = read_inputs(server)

    assert [s.payload_bytes for s in inputs.samples[Lane.LARGE]] == list(
        range(SAMPLES_KEPT + 5, 5, -1)
    )
    assert inputs.samples[Lane.SMALL] == []
    assert inputs.slots == SLOTS


def test_the_samples_expire_when_the_lane_is_idle() -> None:
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    JobStore(client, NAMES).add_run_sample(Lane.SMALL, RunSample(1, 1.0, 1.0), SLOTS)
    assert client.ttl(NAMES.eta_samples(Lane.SMALL)) > 0
    assert client.ttl(NAMES.eta_slots) > 0


def test_the_active_jobs_figures_are_read_oldest_first() -> None:
    server = fakeredis.FakeServer()
    jobs = JobStore(fakeredis.FakeRedis(server=server), NAMES)
    for job_id, second in [("b", 2), ("a", 1)]:
        created = datetime(2026, 1, 5, 9, 0, second, tzinfo=UTC)
        jobs.create(JobRecord(job_id=job_id, status=JobStatus.QUEUED, message="",
                              report_type="Tabular", user_name="ana", payload_bytes=second,
                              created_at=created))  # fmt: skip

    inputs = read_inputs(server)

    assert [(f.job_id, f.payload_bytes) for f in inputs.active] == [("a", 1), ("b", 2)]
    assert inputs.slots == {}
