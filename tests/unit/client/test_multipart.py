"""The client's streamed multipart body, read back by the parser the api itself uses."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import multipart
from reports_client.multipart import MultipartUpload

FIELDS = {
    "reportType": "FacturacionMasiva",
    "userName": "ana@empresa.com",
    "isLargeDataset": "false",
}


def parse(upload: MultipartUpload, body: bytes | None = None) -> list[multipart.MultipartPart]:
    body = b"".join(upload) if body is None else body
    assert len(body) == upload.length  # the Content-Length sent is the body's
    boundary = multipart.parse_options_header(upload.content_type)[1]["boundary"]
    return list(multipart.MultipartParser(io.BytesIO(body), boundary, len(body)))


def test_fields_come_first_then_the_file_whole(tmp_path: Path) -> None:
    # Given a dataset on disk bigger than one read
    data = tmp_path / "facturas.json"
    data.write_bytes(b"[" + b",".join(b'{"n":%d}' % n for n in range(100_000)) + b"]")

    # When it is encoded with the form's fields
    parts = parse(MultipartUpload(FIELDS, "dataFile", data, data.name))

    # Then the api reads the fields before the file, and the file byte for byte
    assert [p.name for p in parts] == [*FIELDS, "dataFile"]
    assert {p.name: p.value for p in parts[:3]} == FIELDS
    assert parts[3].filename == "facturas.json"
    assert parts[3].content_type == "application/json"
    assert parts[3].raw == data.read_bytes()


def test_progress_is_reported_up_to_the_files_size(tmp_path: Path) -> None:
    data = tmp_path / "d.json"
    data.write_bytes(b"[" + b"1," * 400_000 + b"1]")
    seen: list[tuple[int, int | None]] = []

    b"".join(MultipartUpload(FIELDS, "dataFile", data, "d.json", lambda *p: seen.append(p)))

    assert seen[0] == (0, data.stat().st_size)
    assert seen[-1] == (data.stat().st_size, data.stat().st_size)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_the_body_can_be_sent_again_for_a_retry() -> None:
    # Given an open file (here, not yet flushed to disk)
    with tempfile.TemporaryFile() as spool:
        spool.write(b'[{"a": 1}]')
        upload = MultipartUpload(FIELDS, "dataFile", spool, "datos.json")

        # When it is iterated twice (a retried request)
        first, second = b"".join(upload), b"".join(upload)

    # Then both are the same, whole body
    assert first == second
    assert parse(upload, first)[-1].raw == b'[{"a": 1}]'


def test_names_with_quotes_or_line_breaks_cannot_forge_headers(tmp_path: Path) -> None:
    data = tmp_path / "d.json"
    data.write_bytes(b"[]")
    name = 'a"b\r\nX-Evil: 1.json'
    parts = parse(MultipartUpload(FIELDS, "dataFile", data, name))
    assert parts[-1].filename == name  # escaped on the wire, read back as it was
    assert [header for header, _ in parts[-1].headerlist] == ["Content-Disposition", "Content-Type"]


def test_a_gzip_file_is_sent_as_gzip(tmp_path: Path) -> None:
    data = tmp_path / "d.json.gz"
    data.write_bytes(b"\x1f\x8b")
    assert parse(MultipartUpload(FIELDS, "dataFile", data, data.name))[-1].content_type == (
        "application/gzip"
    )
