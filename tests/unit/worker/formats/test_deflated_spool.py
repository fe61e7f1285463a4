"""Files deflated while written, and members added to a ZIP already deflated.

Read back with zipfile, which checks every member's CRC-32 against its bytes: a wrong CRC,
size or a deflate stream that does not join up fails here.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import zipfile
from pathlib import Path

import pytest
from zlib_ng import zlib_ng

from reports_worker.formats.columns import Column
from reports_worker.formats.xlsx.spreadsheetml import SPREADSHEETML, open_workbook
from reports_worker.formats.zip.archive import ReportFiles
from reports_worker.formats.zip.spool import DeflatedSpool, deflated, joined_crc, write_deflated


def _text(n: int, seed: bytes) -> bytes:
    """``n`` lines, compressible like a report's, with some noise."""
    return b"".join(b"%s;%d;%s\r\n" % (seed, i, os.urandom(4).hex().encode()) for i in range(n))


def test_a_member_joined_from_a_head_a_spool_and_a_foot_reads_back_whole(tmp_path: Path) -> None:
    # Given a head and a foot deflated apart, and a body spooled in several writes
    head, foot = b"<sheet><rows>", b"</rows></sheet>"
    chunks = [_text(5000, b"fila"), b"", _text(3, b"x"), _text(20000, b"otra")]
    with DeflatedSpool(tmp_path / "body", final=False) as body:
        for chunk in chunks:
            body.write(chunk)
    whole = head + b"".join(chunks) + foot
    assert (body.size, body.crc) == (
        len(whole) - len(head) - len(foot),
        zlib_ng.crc32(whole[13:-15]),
    )

    # When they are joined into one member of a ZIP
    crc, size = joined_crc([(zlib_ng.crc32(head), len(head)), (body.crc, body.size),
                            (zlib_ng.crc32(foot), len(foot))])  # fmt: skip
    with zipfile.ZipFile(tmp_path / "out.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        pieces = [deflated(head, final=False), *body.chunks(), deflated(foot, final=True)]
        write_deflated(archive, "sheet.xml", pieces, crc=crc, size=size)
        archive.writestr("after.txt", b"next member")

    # Then the member is the whole text, its CRC checked, and the next member is intact
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.testzip() is None
        assert archive.read("sheet.xml") == whole
        assert archive.getinfo("sheet.xml").file_size == len(whole)
        assert archive.read("after.txt") == b"next member"


def test_a_spool_without_digest_writes_the_same_stream_and_keeps_no_hash(
    tmp_path: Path,
) -> None:
    # Given the same chunks spooled with and without the SHA-256 kept
    chunks = [_text(3000, b"fila"), _text(10, b"x")]
    spools = {}
    for digest in (True, False):
        with DeflatedSpool(tmp_path / f"body-{digest}", digest=digest) as spool:
            for chunk in chunks:
                spool.write(chunk)
        spools[digest] = spool

    # Then both deflate alike, and only the first says its digest
    kept, skipped = spools[True], spools[False]
    assert kept.path.read_bytes() == skipped.path.read_bytes()
    assert (kept.crc, kept.size) == (skipped.crc, skipped.size)
    assert kept.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert skipped.sha256 == ""


def test_a_wrong_crc_is_caught_when_read(tmp_path: Path) -> None:
    # The test above would pass whatever CRC write_deflated stored if zipfile did not check.
    data = _text(100, b"a")
    with zipfile.ZipFile(tmp_path / "out.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        write_deflated(archive, "a.csv", [deflated(data, final=True)], crc=1, size=len(data))
    with zipfile.ZipFile(tmp_path / "out.zip") as archive, pytest.raises(zipfile.BadZipFile):
        archive.read("a.csv")


def test_files_streamed_at_once_and_files_written_to_paths_pack_in_the_order_asked(
    tmp_path: Path,
) -> None:
    # Given two streams written at once, interleaved, and a file written to a path
    work = tmp_path / "work"
    work.mkdir()
    files = ReportFiles(work, tmp_path / "report.zip")
    first, table = files.stream("uno.csv"), files.path("dos.xlsx", compress=False)
    second = files.stream("tres.csv")
    written = {"uno.csv": b"", "tres.csv": b""}
    for i in range(50):
        for name, stream in (("uno.csv", first), ("tres.csv", second)):
            chunk = _text(200, f"{name}{i}".encode())
            stream.write(chunk)
            written[name] += chunk
    table.write_bytes(b"PK stored as is")
    first.close()  # the report may close a stream itself, or leave it to pack

    # When the ZIP is packed
    manifest = files.pack({"reportType": "X"})

    # Then each file is whole, listed and held in the order asked for, with its digest
    written["dos.xlsx"] = b"PK stored as is"
    names = ["uno.csv", "dos.xlsx", "tres.csv"]
    assert [entry["name"] for entry in manifest["files"]] == names
    with zipfile.ZipFile(tmp_path / "report.zip") as archive:
        assert archive.namelist() == [*names, "manifest.json"]
        assert archive.testzip() is None
        for entry in manifest["files"]:
            data = archive.read(entry["name"])
            assert data == written[entry["name"]]
            assert entry["sizeBytes"] == len(data)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert archive.getinfo("uno.csv").compress_type == zipfile.ZIP_DEFLATED
        # dated when packed and readable by all, as unzip shows them (zipfile's own: 1980, 0600)
        today = time.localtime()[:3]
        for info in archive.infolist():
            assert info.date_time[:3] == today, info
            assert info.external_attr >> 16 == 0o644, info


def test_a_table_left_spooling_by_a_failed_build_stops_when_the_book_closes(
    tmp_path: Path,
) -> None:
    # Given a table whose sheet is spooling rows when the build fails (its table not closed)
    book = open_workbook(tmp_path / "book.xlsx", title="T", row_limit=1000, engine=SPREADSHEETML)
    table = book.table("Datos", [Column("n", "N", "integer", 10)])
    for n in range(2000):
        table.append([n])
    assert any(thread.name.startswith("deflate-") for thread in threading.enumerate())

    # When the workbook is closed, as the build's clean-up does
    book.close()

    # Then no thread is left deflating, and no spool is left behind
    assert not any(thread.name.startswith("deflate-") for thread in threading.enumerate())
    assert [path.name for path in tmp_path.iterdir()] == ["book.xlsx"]
