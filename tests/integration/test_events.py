"""The live status stream (Server-Sent Events), against a live stack of two api processes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse
from prometheus_client.parser import text_string_to_metric_families

from tests.support.infra import Infra
from tests.support.jobs import PLUGIN, submit
from tests.support.stacks import RunningStack, StackFactory, StackPool, wait_until

ORDER = {"Queued": 0, "Processing": 1, "Completed": 2}


def records(count: int, sleep: float) -> list[dict[str, Any]]:
    """Demora records, unique to this call (an identical dataset would come from the cache)."""
    marker = uuid.uuid4().hex
    return [{"sleep": sleep, "run": marker} for _ in range(count)]


@pytest.fixture(scope="module")
def replicas(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Two api processes behind one port: a stream and the changes it reports may be served by
    different processes, as with replicas behind a load balancer."""
    pool = StackPool(infra, tmp_path_factory.mktemp("events"))
    yield pool.start(workers=1, api_workers=2, report_plugins=PLUGIN)
    pool.stop_all()


def events_of(
    stack: RunningStack, job_id: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Every ``status`` event of a job's stream, read until the service ends it."""
    timeout = httpx.Timeout(10, read=30)
    with connect_sse(stack.client, "GET", f"/api/AsyncReports/events/{job_id}",
                     timeout=timeout, headers=dict(headers or {})) as source:  # fmt: skip
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [json.loads(e.data) for e in source.iter_sse() if e.event == "status"]


def test_the_stream_sends_each_change_in_order_and_ends_at_completed(
    replicas: RunningStack,
) -> None:
    # Given a job of about three seconds, whose progress the worker writes every second
    job = submit(replicas, records(3000, 0.001))

    # When a client follows its stream until the service closes it
    events = events_of(replicas, job)

    # Then the statuses come in order, the last one Completed
    statuses = [e["status"] for e in events]
    assert statuses[-1] == "Completed", statuses
    assert [ORDER[s] for s in statuses] == sorted(ORDER[s] for s in statuses)
    # And progress was seen moving while it ran, never backwards
    running = [e["progress"]["percent"] for e in events if e["status"] == "Processing"]
    assert any(0 < p < 100 for p in running), events
    percents = [e["progress"]["percent"] for e in events]
    assert percents == sorted(percents)
    # And each event is the status the api shows (the last one is exactly GET /status)
    assert events[-1] == replicas.status(job)
    assert {e["jobId"] for e in events} == {job}


def test_the_stream_of_a_finished_job_sends_its_final_status_and_ends(
    replicas: RunningStack,
) -> None:
    # Given a job that has already completed
    job = submit(replicas, records(1, 0))
    final = replicas.wait_finished(job)

    # When a client opens its stream
    events = events_of(replicas, job)

    # Then it gets the final status once, and the stream ends
    assert events == [final]


def test_a_queued_job_streams_its_place_in_the_queue(replicas: RunningStack) -> None:
    # Given both job slots taken by jobs of two seconds, and one job waiting behind them
    busy = [submit(replicas, records(1, 2)) for _ in range(2)]
    waiting = submit(replicas, records(1, 0))

    # When the waiting job's stream is followed to its end
    events = events_of(replicas, waiting)

    # Then it first shows the job queued with its position, and ends Completed
    assert events[0]["status"] == "Queued"
    assert events[0]["queuePosition"] >= 1
    assert events[-1]["status"] == "Completed"
    assert [replicas.wait_finished(job)["status"] for job in busy] == ["Completed"] * 2


def test_an_unknown_job_has_no_stream(replicas: RunningStack) -> None:
    # When a stream is asked for a job that does not exist
    response = replicas.client.get("/api/AsyncReports/events/no-such-job")

    # Then the answer is a 404 problem, not an empty stream
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "no-such-job" in response.json()["detail"]


def test_head_of_a_running_jobs_stream_answers_at_once_and_frees_the_connection(
    replicas: RunningStack,
) -> None:
    # Given a job that runs for ten seconds (its stream stays open while it runs)
    job = submit(replicas, records(1, 10))
    wait_until(lambda: replicas.status(job)["status"] == "Processing", 30, what="the job to run")
    with httpx.Client(base_url=replicas.url, timeout=10) as client:
        # When a client asks HEAD of its stream
        started = time.monotonic()
        head = client.head(f"/api/AsyncReports/events/{job}")
        # Then it gets the stream's headers at once, not a stream held open until the job ends
        # (seconds, not the job's ten: three test processes share two cores here)
        assert time.monotonic() - started < 4
        assert head.status_code == 200
        assert head.headers["content-type"].startswith("text/event-stream")
        assert head.content == b""
        # And the same connection answers the next request
        assert client.get(f"/api/AsyncReports/status/{job}").json()["status"] != "Completed"
    # And the api stopped following the job for it (no stream left running until the end)
    wait_until(lambda: streams_open(replicas) == 0, 4, 0.1, "the HEAD's stream to stop")
    assert replicas.status(job)["status"] == "Processing"
    cancelled = replicas.client.delete(f"/api/AsyncReports/jobs/{job}")
    assert cancelled.json()["outcome"] == "Cancelled", cancelled.text


def streams_open(stack: RunningStack) -> float:
    """Event streams the api is serving now (its in-progress gauge of the route)."""
    families = text_string_to_metric_families(stack.client.get("/metrics").text)
    return sum(
        sample.value
        for family in families
        if family.name == "litestar_requests_in_progress"
        for sample in family.samples
        if sample.labels.get("path") == "/api/AsyncReports/events/{job_id}"
    )


def test_the_stream_is_in_the_api_schema(replicas: RunningStack) -> None:
    schema = replicas.client.get("/schema/openapi.json").json()
    assert "/api/AsyncReports/events/{job_id}" in schema["paths"]


def test_a_client_key_follows_only_its_own_jobs(make_stack: StackFactory) -> None:
    # Given keys for two client systems, and a job of the ERP's
    erp, crm = "erp-key-0123456789abcdef", "crm-key-0123456789abcdef"
    ops = "operator:ops:ops-key-0123456789abcdef"  # the fixture checks readiness with it
    keyed = make_stack(workers=1, api_keys=f"client:erp:{erp},client:crm:{crm},{ops}")
    response = keyed.client.post(
        "/api/AsyncReports/queue-json",
        json={"reportType": "Tabular", "userName": "ana", "jsonData": [{"a": uuid.uuid4().hex}]},
        headers={"X-API-Key": erp},
    )
    assert response.status_code == 202, response.text
    job = response.json()["jobId"]

    # When the other client, and a caller without a key, ask for its stream
    other = keyed.client.get(f"/api/AsyncReports/events/{job}", headers={"X-API-Key": crm})
    anonymous = keyed.client.get(f"/api/AsyncReports/events/{job}")

    # Then neither learns anything about it; its owner follows it to the end
    assert (other.status_code, anonymous.status_code) == (404, 401)
    assert events_of(keyed, job, {"X-API-Key": erp})[-1]["status"] == "Completed"
