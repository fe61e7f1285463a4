"""The status views kept per job: reused only while the job's hash and the parts shown
beside it are the same, so never older than what a request read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import fakeredis
from litestar import Response
from litestar.response.base import ASGIResponse
from litestar.serialization import encode_json
from litestar.types import Message

from reports_api.jobs.estimates import Estimate
from reports_api.jobs.rendered import StatusViews
from reports_api.jobs.views import job_view
from reports_shared.constants import JobStatus, Names
from reports_shared.jobs import JobRecord
from reports_shared.jobstore import AsyncJobStore, JobStore

NAMES = Names("unit")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def stores() -> tuple[JobStore, AsyncJobStore]:
    server = fakeredis.FakeServer()
    return (
        JobStore(fakeredis.FakeRedis(server=server), NAMES),
        AsyncJobStore(fakeredis.FakeAsyncRedis(server=server), NAMES),
    )


def queued(job_id: str) -> JobRecord:
    return JobRecord(job_id=job_id, status=JobStatus.QUEUED, message="Trabajo en cola",
                     report_type="Tabular", user_name="ana", payload_bytes=1000,
                     created_at=NOW - timedelta(minutes=1))  # fmt: skip


def read(views: StatusViews, jobs: AsyncJobStore, job_id: str) -> JobRecord | None:
    return views.record(job_id, asyncio.run(jobs.get_stored(job_id)))


def test_a_job_that_changed_is_shown_as_it_is_now() -> None:
    # Given a queued job whose status was answered (and kept) once
    store, jobs = stores()
    record = queued("j")
    store.create(record)
    views = StatusViews()
    first = read(views, jobs, "j")
    assert first is not None
    assert views.view(first, 1, None, Estimate()).status == JobStatus.QUEUED

    # When a worker takes it, and later it completes
    started = {"startedAt": NOW, "message": "Procesando", "runId": "r"}
    store.transition(record, {JobStatus.QUEUED}, JobStatus.PROCESSING, started)
    running = read(views, jobs, "j")
    done = {"completedAt": NOW, "message": "Reporte generado", "fileName": "r.zip"}
    store.transition(record, {JobStatus.PROCESSING}, JobStatus.COMPLETED, done)
    completed = read(views, jobs, "j")

    # Then each answer shows the job as it was read, never the one kept before
    assert running is not None and running.status == JobStatus.PROCESSING
    assert views.view(running, None, None, Estimate(seconds_left=3.0)).message == "Procesando"
    assert completed is not None and completed.status == JobStatus.COMPLETED
    view = views.view(completed, None, "token", Estimate())
    assert view.status == JobStatus.COMPLETED and view.file_name == "r.zip"
    assert view.download_url is not None and view.download_url.endswith("/token")


def test_a_deleted_job_is_forgotten() -> None:
    store, jobs = stores()
    store.create(queued("j"))
    views = StatusViews()
    assert read(views, jobs, "j") is not None
    asyncio.run(jobs.delete("j"))
    assert read(views, jobs, "j") is None


def test_an_unchanged_job_is_decoded_and_viewed_once_while_what_it_shows_is_the_same() -> None:
    # Given a job read twice without a change
    store, jobs = stores()
    store.create(queued("j"))
    views = StatusViews()
    record = read(views, jobs, "j")
    assert record is not None and read(views, jobs, "j") is record

    # Then its view is made again only when its position or estimate (as shown) moves,
    # and is the same JSON as one made afresh
    view = views.view(record, 2, None, Estimate(seconds_left=10.01, start_in=4.0))
    assert views.view(record, 2, None, Estimate(seconds_left=10.04, start_in=4.0)) is view
    moved = views.view(record, 1, None, Estimate(seconds_left=9.5, start_in=3.5))
    assert moved is not view and moved.queue_position == 1
    fresh = job_view(record, 1, None, Estimate(seconds_left=9.5, start_in=3.5))
    assert encode_json(moved) == encode_json(fresh)


def test_the_views_kept_are_bounded() -> None:
    store, jobs = stores()
    views = StatusViews(memory=2)
    for job_id in ("a", "b", "c"):
        store.create(queued(job_id))
        assert read(views, jobs, job_id) is not None
    assert list(views._kept) == ["b", "c"]  # the one kept longest ago is forgotten


async def _sent(response: ASGIResponse) -> list[Message]:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    await response({"type": "http"}, receive, send)  # type: ignore[arg-type]
    return messages


def test_the_response_kept_sends_what_litestar_makes_of_the_view_and_moves_with_it() -> None:
    # Given a queued job read once
    store, jobs = stores()
    store.create(queued("j"))
    views = StatusViews()
    record = read(views, jobs, "j")
    assert record is not None
    estimate = Estimate(seconds_left=10.01, start_in=4.0)

    # When its status is answered twice with the same view and headers
    first = views.response(record, 2, None, estimate, {"Retry-After": "5"})
    again = views.response(record, 2, None, estimate, {"Retry-After": "5"})

    # Then the same response is sent, byte for byte what Litestar makes of the view
    assert again is first
    made = Response(job_view(record, 2, None, estimate), headers={"Retry-After": "5"})
    expected = made.to_asgi_response(None, None)  # type: ignore[arg-type]
    assert asyncio.run(_sent(first.to_asgi_response())) == asyncio.run(_sent(expected))
    # And a new one once the headers or the view move
    later = views.response(record, 2, None, estimate, {"Retry-After": "4"})
    assert later is not first and later.headers == {"Retry-After": "4"}
    moved = views.response(record, 1, None, estimate, {"Retry-After": "4"})
    assert moved is not later and moved.content.queue_position == 1
