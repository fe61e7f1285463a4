"""Resumed downloads, against a stand-in for the api's download endpoint (the network edge)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reports_client import DownloadFailed, Job, JobNotFound, ReportsClient

URL = "/api/AsyncReports/download/token-de-prueba-0123456789"
CONTENT = bytes(range(256)) * 200  # 51,200 bytes


class Body(httpx.SyncByteStream):
    """A response body sent in 4 KB pieces that may break after ``cut`` bytes."""

    def __init__(self, data: bytes, cut: int | None) -> None:
        self.data = data
        self.cut = cut

    def __iter__(self) -> Iterator[bytes]:
        for start in range(0, len(self.data), 4096):
            if self.cut is not None and start >= self.cut:
                raise httpx.ReadError("conexión reiniciada")
            yield self.data[start : start + 4096]


class FileServer:
    """Serves one file as the api does: ETag, Range, If-Range; breaks when told to."""

    def __init__(self, content: bytes = CONTENT, etag: str = '"v1"') -> None:
        self.content = content
        self.etag = etag
        self.cuts: list[int | None] = []
        self.seen: list[tuple[str | None, str | None]] = []
        #: Another file (content, ETag) that replaces this one after the first request.
        self.replacement: tuple[bytes, str] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/AsyncReports/report-types":  # asked to tell a 404's source
            return httpx.Response(200, json=[{"name": "FacturacionMasiva"}])
        if request.url.path != URL:
            return httpx.Response(404, json={"title": "No encontrado", "detail": "No existe."})
        wanted, if_range = request.headers.get("range"), request.headers.get("if-range")
        if self.seen and self.replacement:
            (self.content, self.etag), self.replacement = self.replacement, None
        self.seen.append((wanted, if_range))
        headers = {"ETag": self.etag, "Accept-Ranges": "bytes"}
        start, status = 0, 200
        if wanted and if_range in (None, self.etag):
            start, status = int(wanted.removeprefix("bytes=").rstrip("-")), 206
            headers["Content-Range"] = f"bytes {start}-{len(self.content) - 1}/{len(self.content)}"
        body = self.content[start:]
        headers["Content-Length"] = str(len(body))
        cut = self.cuts.pop(0) if self.cuts else None
        return httpx.Response(status, headers=headers, stream=Body(body, cut))


def completed(url: str = URL) -> Job:
    return Job.from_json({"jobId": "j1", "status": "Completed", "message": "Listo",
                          "createdAt": "2026-01-01T00:00:00Z", "downloadUrl": url,
                          "fileName": "reporte_facturacion.zip"})  # fmt: skip


def client_of(server: FileServer) -> ReportsClient:
    http = httpx.Client(base_url="http://reports.test", transport=httpx.MockTransport(server))
    return ReportsClient(http=http)


def test_a_download_broken_twice_is_resumed_to_the_whole_file(tmp_path: Path) -> None:
    # Given a connection that breaks after 8 KB, then again 12 KB further on
    server = FileServer()
    server.cuts = [8192, 12288]
    progress: list[int] = []

    # When the report is downloaded
    saved = client_of(server).download(
        completed(), tmp_path / "r.zip", on_progress=lambda done, _: progress.append(done)
    )

    # Then the file is whole, each retry asking only for what was missing, for the same file
    assert saved.read_bytes() == CONTENT
    assert server.seen == [(None, None), ("bytes=8192-", '"v1"'), ("bytes=20480-", '"v1"')]
    assert progress[-1] == len(CONTENT)
    assert not (tmp_path / "r.zip.part").exists()


def test_a_file_changed_between_tries_is_downloaded_again_whole(tmp_path: Path) -> None:
    # Given a download that breaks, after which the file on the server is another one
    server = FileServer()
    server.cuts = [8192]
    server.replacement = (b"otro archivo" * 1000, '"v2"')

    # When the download goes on
    saved = client_of(server).download(completed(), tmp_path / "r.zip")

    # Then the result is the new file whole, never a mix of the two
    assert saved.read_bytes() == b"otro archivo" * 1000


def test_a_download_that_keeps_breaking_fails_and_leaves_no_file(tmp_path: Path) -> None:
    server = FileServer()
    server.cuts = [0, 0]
    with pytest.raises(DownloadFailed, match="2 veces"):
        client_of(server).download(completed(), tmp_path / "r.zip", attempts=2)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_download_link_is_job_not_found(tmp_path: Path) -> None:
    with pytest.raises(JobNotFound, match="No existe"):
        client_of(FileServer()).download(completed("/api/AsyncReports/download/x"), tmp_path)


def test_a_folder_as_destination_keeps_the_services_file_name(tmp_path: Path) -> None:
    saved = client_of(FileServer()).download(completed(), tmp_path)
    assert saved == tmp_path / "reporte_facturacion.zip"
    assert saved.read_bytes() == CONTENT
