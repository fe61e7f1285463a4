"""An address where something answers, but not the service: never "no such job".

The answers are a stand-in at the network edge (httpx.MockTransport): the service's own,
and those of a wrong path or another server.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from reports_client import JobNotFound, NotAReportsService, ReportsClient, ServiceUnavailable

Q = "/api/AsyncReports"
MISSING = {"jobId": "j1", "status": "Failed", "message": "No existe un trabajo con id 'j1'.",
           "title": "No encontrado", "detail": "No existe un trabajo con id 'j1'."}  # fmt: skip


def client(handler: Callable[[httpx.Request], httpx.Response], base: str) -> ReportsClient:
    http = httpx.Client(base_url=base, transport=httpx.MockTransport(handler))
    return ReportsClient(http=http, retries=0)


def service(request: httpx.Request) -> httpx.Response:
    """The service at the root: its report types, and no job j1."""
    if request.url.path == f"{Q}/report-types":
        return httpx.Response(200, json=[{"name": "Tabular", "description": ""}])
    if request.url.path == f"{Q}/status/j1":
        return httpx.Response(404, json=MISSING)
    return httpx.Response(404, json={"title": "Not Found", "detail": "Not Found"})


def test_a_job_the_service_does_not_know_is_not_found() -> None:
    with pytest.raises(JobNotFound, match="No existe un trabajo"):
        client(service, "http://reportes.test").status("j1")


def test_a_wrong_path_says_the_address_is_not_the_services() -> None:
    with pytest.raises(NotAReportsService) as error:
        client(service, "http://reportes.test/otra-cosa").status("j1")
    said = str(error.value)
    assert said.startswith(
        "La dirección http://reportes.test/otra-cosa no apunta a un servicio Async Reports"
    )
    assert "No existe" not in said
    assert isinstance(error.value, ServiceUnavailable)  # what catches "cannot reach it"


def test_another_server_answering_html_is_not_the_service() -> None:
    def web_server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, html="<html><body>Bienvenido</body></html>")

    with pytest.raises(NotAReportsService, match=r"respondió HTTP 200 \(text/html\)"):
        client(web_server, "http://intranet.test").report_types()


def test_another_servers_refusal_is_not_the_services() -> None:
    def forbidding(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, html="<h1>403 Forbidden</h1>")

    with pytest.raises(NotAReportsService, match="HTTP 403"):
        client(forbidding, "http://intranet.test").status("j1")


def test_a_service_that_wants_a_key_is_still_the_service() -> None:
    def keyed(request: httpx.Request) -> httpx.Response:
        if request.url.path == f"{Q}/report-types":
            return httpx.Response(401, json={"title": "No autorizado", "detail": "Falta la clave"})
        return httpx.Response(404, json=MISSING)

    with pytest.raises(JobNotFound):
        client(keyed, "http://reportes.test").status("j1")
