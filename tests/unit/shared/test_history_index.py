"""The job history's indexes: kept by the create and delete scripts, read newest first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import fakeredis

from reports_shared.constants import JobStatus, Names
from reports_shared.jobs import JobRecord
from reports_shared.jobstore import AsyncJobStore, JobStore
from tests.support.standins import memory_redis

NAMES = Names("unit")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def record(job_id: str, owner: str = "erp", seconds: float = 0.0) -> JobRecord:
    return JobRecord(job_id=job_id, status=JobStatus.QUEUED, message="", report_type="Tabular",
                     user_name="ana", created_at=START + timedelta(seconds=seconds),
                     owner=owner)  # fmt: skip


def owned(client: fakeredis.FakeRedis, owner: str) -> list[object]:
    return list(client.zrange(NAMES.jobs_by_owner(owner), 0, -1))


def test_a_new_job_enters_its_owners_history_and_leaves_it_when_deleted() -> None:
    client = memory_redis()
    jobs = JobStore(client, NAMES)
    jobs.create(record("a", "erp"))
    jobs.create(record("b", "crm"))
    assert owned(client, "erp") == [b"a"]
    assert owned(client, "crm") == [b"b"]

    jobs.delete("a")

    assert owned(client, "erp") == []
    assert owned(client, "crm") == [b"b"]


def test_a_job_of_the_open_api_has_no_owners_index() -> None:
    client = memory_redis()
    JobStore(client, NAMES).create(record("a", owner=""))
    assert not client.exists(NAMES.jobs_by_owner(""))
    assert client.zrange(NAMES.jobs_by_creation, 0, -1) == [b"a"]


def test_an_expired_job_leaves_both_histories() -> None:
    client = memory_redis()
    jobs = JobStore(client, NAMES)
    jobs.create(record("a"))
    jobs.leave_history(record("a"))
    assert owned(client, "erp") == []
    assert client.zrange(NAMES.jobs_by_creation, 0, -1) == []


def test_pages_of_the_index_are_newest_first_each_job_once_ties_included() -> None:
    # Given 7 jobs, three of them created in the same millisecond
    server = fakeredis.FakeServer()
    jobs = JobStore(fakeredis.FakeRedis(server=server), NAMES)
    for job_id, seconds in [("a", 1), ("b", 2), ("c", 3), ("d", 3), ("e", 3), ("f", 4), ("g", 5)]:
        jobs.create(record(job_id, seconds=seconds))
    store = AsyncJobStore(fakeredis.FakeAsyncRedis(server=server), NAMES)

    # When they are read two at a time, each page after the last one's position
    async def read_all() -> list[list[str]]:
        pages: list[list[str]] = []
        before: tuple[float, str] | None = None
        while page := await store.newest(NAMES.jobs_by_owner("erp"), before, 2):
            pages.append([job_id for job_id, _ in page])
            before = (page[-1][1], page[-1][0])
        return pages

    # Then every job comes once, newest first (ties by descending id, as Redis orders them)
    assert asyncio.run(read_all()) == [["g", "f"], ["e", "d"], ["c", "b"], ["a"]]
