"""GET /jobs, the job history, against a live stack: pages, owners, bad parameters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from reports_client import ReportsClient

from reports_shared.constants import JobStatus, Names
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import JobStore
from tests.support.stacks import RunningStack, StackFactory

Q = "/api/AsyncReports"
OPS = "ops-key-0123456789abcdef"
#: A client key per test that lists jobs (a history is its owner's): one stack serves them
#: all, and no test sees another's jobs.
OWNERS = ("pages", "client-pages", "one-page", "filters")
KEY = {owner: f"{owner}-key-0123456789abcdef" for owner in OWNERS}
KEYS = ",".join([*(f"client:{o}:{k}" for o, k in KEY.items()), f"operator:ops:{OPS}"])


@pytest.fixture(scope="module")
def keyed(module_stacks: StackFactory) -> RunningStack:
    return module_stacks(workers=1, api_keys=KEYS, submissions_per_minute=0)


def seed(stack: RunningStack, owner: str, count: int) -> list[str]:
    """``count`` queued jobs of ``owner`` stored as the api stores them, oldest first."""
    jobs = JobStore.from_url(stack.env["AR_REDIS_URL"], Names(stack.namespace))
    start = utcnow() - timedelta(hours=1)
    ids = []
    for n in range(count):
        # Every tenth pair shares a millisecond: ties must page like the rest.
        created = start + timedelta(milliseconds=n - n % 10 // 9)
        record = JobRecord(job_id=f"{owner}-{n:04d}", status=JobStatus.QUEUED, message="",
                           report_type="Tabular", user_name="ana", created_at=created,
                           owner=owner, enqueued_at=utcnow())  # fmt: skip
        jobs.create(record)
        ids.append(record.job_id)
    return ids


def test_pages_of_50_list_every_job_once_newest_first(keyed: RunningStack) -> None:
    ids = seed(keyed, "pages", 130)
    listed: list[str] = []
    sizes = []
    params: dict[str, str | int] = {"limit": 50}
    while True:
        page = keyed.client.get(
            f"{Q}/jobs", params=params, headers={"X-API-Key": KEY["pages"]}
        ).json()
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


# --- the Python client ----------------------------------------------------------------------


def test_the_clients_jobs_follows_every_page_newest_first(keyed: RunningStack) -> None:
    ids = seed(keyed, "client-pages", 130)
    with ReportsClient(keyed.url, api_key=KEY["client-pages"]) as client:
        listed = [job.job_id for job in client.jobs(page_size=50)]
    assert listed == ids[::-1]


def test_the_clients_jobs_page_is_one_page_and_the_cursor_to_the_next(
    keyed: RunningStack,
) -> None:
    ids = seed(keyed, "one-page", 5)
    with ReportsClient(keyed.url, api_key=KEY["one-page"]) as client:
        first = client.jobs_page(limit=3)
        second = client.jobs_page(limit=3, cursor=first.next_cursor)
    assert [job.job_id for job in first.jobs] == ids[:1:-1]
    assert first.next_cursor is not None
    assert [job.job_id for job in second.jobs] == ids[1::-1]
    assert second.next_cursor is None


def test_the_clients_jobs_filters_by_user_type_status_and_outcome(keyed: RunningStack) -> None:
    ids = seed(keyed, "filters", 3)  # queued Tabular jobs of ana
    with ReportsClient(keyed.url, api_key=KEY["filters"]) as client:
        matching = client.jobs(user_name="ana", report_type="Tabular", status="Queued")
        assert [job.job_id for job in matching] == ids[::-1]
        assert list(client.jobs(user_name="luis")) == []
        assert list(client.jobs(report_type="FacturacionMasiva")) == []
        assert list(client.jobs(status="Completed")) == []
        assert list(client.jobs(outcome="Cancelled")) == []
