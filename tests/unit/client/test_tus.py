"""The client's tus uploads against a stand-in for the api's tus endpoint (the network edge):
the answers the real service gives rarely or not yet (410 for an expired upload, 503, 409)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from reports_client import ReportsClient, SubmissionRejected, UploadNotice

BASE = "http://reportes.test"
UPLOADS = "/api/AsyncReports/uploads"


class TusStandIn:
    """Uploads in memory, as the service's tus endpoint answers them; ``faults`` are the
    statuses the next PATCHes get instead (each taking half of its body first)."""

    def __init__(self) -> None:
        self.uploads: dict[str, bytearray] = {}
        self.lengths: dict[str, int] = {}
        self.faults: list[int] = []
        self.gone: dict[str, int] = {}
        self.created = 0
        self.refuse_creation: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        tus = {"Tus-Resumable": "1.0.0"}
        if request.method == "POST" and path == UPLOADS:
            if self.refuse_creation:
                problem = {"title": "Solicitud inválida", "detail": "Falta userName."}
                return httpx.Response(self.refuse_creation, json=problem)
            self.created += 1
            upload_id = f"u{self.created}"
            self.uploads[upload_id] = bytearray()
            self.lengths[upload_id] = int(request.headers["upload-length"])
            return httpx.Response(201, headers={**tus, "Location": f"{UPLOADS}/{upload_id}"})
        if path.startswith("/api/AsyncReports/status/"):
            job = {"jobId": path.rsplit("/", 1)[1], "status": "Queued", "message": "En cola"}
            return httpx.Response(200, json=job)
        upload_id = path.rsplit("/", 1)[1]
        if upload_id in self.gone:
            return httpx.Response(self.gone[upload_id], headers=tus, json={"title": "Expiró"})
        data = self.uploads[upload_id]
        if request.method == "HEAD":
            return httpx.Response(200, headers={**tus, **self._progress(upload_id)})
        body = request.read()
        if self.faults:
            data += body[: len(body) // 2]
            return httpx.Response(self.faults.pop(0), headers=tus, json={"title": "Fallo"})
        if int(request.headers["upload-offset"]) != len(data):
            return httpx.Response(409, headers=tus, json={"title": "Desplazamiento incorrecto"})
        data += body
        return httpx.Response(204, headers={**tus, **self._progress(upload_id)})

    def _progress(self, upload_id: str) -> dict[str, str]:
        headers = {"Upload-Offset": str(len(self.uploads[upload_id]))}
        headers["Upload-Length"] = str(self.lengths[upload_id])
        if len(self.uploads[upload_id]) == self.lengths[upload_id]:
            headers["Upload-Job-Url"] = f"/api/AsyncReports/status/{upload_id}"
        return headers


@pytest.fixture
def server() -> TusStandIn:
    return TusStandIn()


@pytest.fixture
def client(server: TusStandIn, tmp_path: Path) -> ReportsClient:
    http = httpx.Client(base_url=BASE, transport=httpx.MockTransport(server))
    return ReportsClient(
        BASE, http=http, tus_threshold=1000, tus_chunk_size=4000, state_file=tmp_path / "s.json"
    )


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "datos.json"
    path.write_bytes(json.dumps([{"n": n} for n in range(2000)]).encode())
    return path


def test_a_503_and_a_409_mid_upload_are_resumed_from_the_offset_head_gives(
    server: TusStandIn, client: ReportsClient, dataset: Path
) -> None:
    server.faults = [503, 409]
    notices: list[UploadNotice] = []
    job = client.submit_file(dataset, "Tabular", "ana", on_notice=notices.append)
    assert bytes(server.uploads["u1"]) == dataset.read_bytes()
    assert job.job_id == "u1" and job.status_url == "/api/AsyncReports/status/u1"
    assert [n.kind for n in notices] == ["resumed", "resumed"]
    assert 0 < notices[0].offset < notices[1].offset


def test_an_expired_upload_410_is_started_over_saying_so(
    server: TusStandIn, client: ReportsClient, dataset: Path
) -> None:
    # Given an upload interrupted (Ctrl-C): the state file remembers it
    client_state = client.uploads
    with pytest.raises(KeyboardInterrupt):

        def interrupt(done: int, total: int | None) -> None:
            if done > 2000:
                raise KeyboardInterrupt

        client.submit_file(dataset, "Tabular", "ana", on_progress=interrupt)
    assert len(json.loads(client_state.path.read_text())) == 1
    # When it has expired (410) and the file is submitted again with resume
    server.gone["u1"] = 410
    notices: list[UploadNotice] = []
    job = client.submit_file(dataset, "Tabular", "ana", resume=True, on_notice=notices.append)
    # Then a new upload carried the whole file, the person was told, the state is clean
    assert job.job_id == "u2"
    assert bytes(server.uploads["u2"]) == dataset.read_bytes()
    assert [n.kind for n in notices] == ["restarted"]
    assert "desde el principio" in notices[0].message
    assert json.loads(client_state.path.read_text()) == {}


def test_a_refused_creation_is_a_submission_rejected_with_the_services_reason(
    server: TusStandIn, client: ReportsClient, dataset: Path
) -> None:
    server.refuse_creation = 400
    with pytest.raises(SubmissionRejected, match="Falta userName"):
        client.submit_file(dataset, "Tabular", "ana")
    assert not client.uploads.path.exists() or json.loads(client.uploads.path.read_text()) == {}


def test_small_files_and_no_tus_go_multipart_not_to_the_tus_endpoint(
    server: TusStandIn, tmp_path: Path
) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        job = {"jobId": "j1", "status": "Queued", "message": "", "statusUrl": "/s/j1"}
        return httpx.Response(202, json=job)

    http = httpx.Client(base_url=BASE, transport=httpx.MockTransport(answer))
    small = tmp_path / "chico.json"
    small.write_text("[]")
    with ReportsClient(BASE, http=http, tus_threshold=1000) as client:
        client.submit_file(small, "Tabular", "ana")
        small.write_text("[" + "1," * 1000 + "1]")
        client.submit_file(small, "Tabular", "ana", upload_mode="multipart")
    assert seen == ["/api/AsyncReports/queue-multipart"] * 2
