"""Waiting for a job: live events, polling when there are none, and how a job can end.

The service is a stand-in at the network edge (httpx.MockTransport) answering as the api
does; the live stack tests (tests/integration/test_client_cli.py) use the real one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from reports_client import JobExpired, JobFailed, ReportsClient, ServiceUnavailable, WaitTimeout

Q = "/api/AsyncReports"


def job(status: str, percent: float = 0.0, **extra: Any) -> dict[str, Any]:
    created = "2026-01-01T00:00:00Z"
    return {"jobId": "j1", "status": status, "message": status, "createdAt": created,
            "progress": {"percent": percent}, **extra}  # fmt: skip


def stream(*jobs: dict[str, Any]) -> httpx.Response:
    """An event stream as the api sends it: a comment, then one ``status`` event per job."""
    events = [b": keep-alive\r\n\r\n"]
    events += [b"event: status\r\ndata: " + json.dumps(j).encode() + b"\r\n\r\n" for j in jobs]
    return httpx.Response(200, headers={"Content-Type": "text/event-stream"},
                          content=b"".join(events))  # fmt: skip


def client(handler: Callable[[httpx.Request], httpx.Response]) -> ReportsClient:
    transport = httpx.MockTransport(handler)
    return ReportsClient(http=httpx.Client(base_url="http://reports.test", transport=transport))


def test_waiting_follows_the_live_stream_without_polling() -> None:
    # Given a job processing, whose stream then says 50 % and Completed
    asked: list[str] = []

    def service(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path == f"{Q}/status/j1":
            return httpx.Response(200, json=job("Processing"))
        return stream(job("Processing"), job("Processing", 50.0), job("Completed", 100.0))

    seen: list[tuple[str, float]] = []

    # When the client waits for it
    final = client(service).wait("j1", on_update=lambda j: seen.append((j.status, j.percent)))

    # Then each change was reported once, and the status was asked for only at the start
    assert final.status == "Completed"
    assert seen == [("Processing", 0.0), ("Processing", 50.0), ("Completed", 100.0)]
    assert asked == [f"{Q}/status/j1", f"{Q}/events/j1"]


def test_waiting_polls_as_retry_after_says_when_the_service_has_no_stream() -> None:
    # Given an older service without the event stream
    answers = iter([job("Queued"), job("Processing", 40.0), job("Completed", 100.0)])

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith(f"{Q}/events/"):
            return httpx.Response(404, json={"title": "Not Found", "detail": "Not Found"})
        if request.url.path == f"{Q}/report-types":  # asked to tell where the 404 came from
            return httpx.Response(200, json=[{"name": "Tabular"}])
        return httpx.Response(200, json=next(answers), headers={"Retry-After": "0"})

    seen: list[str] = []
    final = client(service).wait("j1", on_update=lambda j: seen.append(j.status))

    assert final.status == "Completed"
    assert seen == ["Queued", "Processing", "Completed"]


def test_a_failed_job_raises_with_the_services_reason() -> None:
    def service(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=job("Failed", error="El JSON no es válido en el byte 3."))

    with pytest.raises(JobFailed, match="byte 3") as failure:
        client(service).wait("j1")
    assert failure.value.job.status == "Failed"


def test_an_expired_job_raises_job_expired() -> None:
    def service(request: httpx.Request) -> httpx.Response:
        return httpx.Response(410, json={"title": "Expirado", "detail": "El trabajo expiró."})

    with pytest.raises(JobExpired, match="expiró"):
        client(service).wait("j1")


def test_a_busy_service_is_asked_again_after_its_retry_after() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "Ocupado"}),
                    httpx.Response(200, json=job("Completed", 100.0))])  # fmt: skip
    assert client(lambda request: next(answers)).status("j1").status == "Completed"


def test_a_service_that_stays_away_is_service_unavailable() -> None:
    def service(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("conexión rechazada")

    reports = client(service)
    reports.retries = 0
    with pytest.raises(ServiceUnavailable, match="No se pudo conectar"):
        reports.report_types()


class Beats(httpx.SyncByteStream):
    """An event stream that sends a new percentage every 0.2 s and never finishes."""

    def __iter__(self) -> Iterator[bytes]:
        for percent in range(1, 100):
            time.sleep(0.2)
            yield b"event: status\r\ndata: " + json.dumps(job("Processing", percent)).encode()
            yield b"\r\n\r\n"


def test_the_timeout_holds_while_progress_keeps_arriving() -> None:
    # Given a job whose stream keeps reporting progress but never ends
    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith(f"{Q}/events/"):
            return httpx.Response(200, headers={"Content-Type": "text/event-stream"},
                                  stream=Beats())  # fmt: skip
        return httpx.Response(200, json=job("Processing"))

    # When the client waits at most one second
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as timeout:
        client(service).wait("j1", timeout=1)

    # Then it gives up on time, saying how far the job had got
    assert time.monotonic() - started < 2
    assert 0 < timeout.value.job.percent < 100
