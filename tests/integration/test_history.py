"""GET /jobs, the job history, against a live stack: pages, owners, bad parameters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reports_shared.constants import JobStatus, Names
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import JobStore
from tests.support.stacks import RunningStack, StackFactory

Q = "/api/AsyncReports"
BULK, OPS = "bulk-key-0123456789abcdef", "ops-key-0123456789abcdef"
KEYS = f"client:bulk:{BULK},operator:ops:{OPS}"


@pytest.fixture
def keyed(make_stack: StackFactory) -> RunningStack:
    return make_stack(workers=1, api_keys=KEYS, submissions_per_minute=0)


def seed(stack: RunningStack, owner: str, count: int) -> list[str]:
    """``count`` queued jobs of ``owner`` stored as the api stores them, oldest first."""
    jobs = JobStore.from_url(stack.env["AR_REDIS_URL"], Names(stack.namespace))
    start = utcnow() - timedelta(hours=1)
    ids = []
    for n in range(count):
        # Every tenth pair shares a millisecond: ties must page like the rest.
        created = start + timedelta(milliseconds=n - n % 10 // 9)
        record = JobRecord(job_id=f"hist-{n:04d}", status=JobStatus.QUEUED, message="",
                           report_type="Tabular", user_name="ana", created_at=created,
                           owner=owner, enqueued_at=utcnow())  # fmt: skip
        jobs.create(record)
        ids.append(record.job_id)
    return ids


def test_pages_of_50_list_every_job_once_newest_first(keyed: RunningStack) -> None:
    ids = seed(keyed, "bulk", 130)
    listed: list[str] = []
    sizes = []
    params: dict[str, str | int] = {"limit": 50}
    while True:
        page = keyed.client.get(f"{Q}/jobs", params=params, headers={"X-API-Key": BULK}).json()
        sizes.append(page["count"])
        listed += [job["jobId"] for job in page["jobs"]]
        if page["nextCursor"] is None:
            break
        params["cursor"] = page["nextCursor"]
    assert listed == ids[::-1]  # newest first, each once (ties by descending id)
    assert sizes[:2] == [50, 50]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"status": "Nope"},
                                    {"cursor": "not-a-cursor"}, {"outcome": "Queued"}])  # fmt: skip
def test_bad_parameters_are_a_400(keyed: RunningStack, params: dict[str, str | int]) -> None:
    answer = keyed.client.get(f"{Q}/jobs", params=params, headers={"X-API-Key": OPS})
    assert answer.status_code == 400, answer.text
