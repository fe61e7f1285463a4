"""The report's files: spooled to a work directory, then packed into one ZIP with a manifest."""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .deflate import COPY_CHUNK, DEFLATE_LEVEL, open_member
from .spool import DeflatedSpool, write_deflated

MANIFEST_NAME = "manifest.json"
#: Parts from 1 GiB on get ZIP64 headers; zipfile cannot add them once writing started.
_ZIP64_FROM = zipfile.ZIP64_LIMIT // 2


@dataclass(frozen=True, slots=True)
class PackedFile:
    """One file as listed in manifest.json."""

    name: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class _Part:
    name: str
    path: Path
    compress: bool


class ReportFiles:
    """Where a report type writes its files, and the ZIP at ``dest`` they end up in.

    A file is either written to a path (:meth:`path`) and deflated into the ZIP at the end,
    or deflated by a thread of its own while the build writes it (:meth:`stream`, any number
    at once) and copied into the ZIP as it is. The ZIP holds them in the order they were
    asked for, then the manifest, which lists them in that order too.
    """

    def __init__(self, workdir: Path, dest: Path) -> None:
        self._workdir = workdir
        self._dest = dest
        self._zip: zipfile.ZipFile | None = None
        self._parts: dict[str, _Part] = {}
        self._streams: dict[str, DeflatedSpool] = {}
        self._spools = 0
        self._order: list[str] = []  # every file by the time it was asked for

    def _archive(self) -> zipfile.ZipFile:
        if self._zip is None:
            # Low levels: several times faster than the default 6 on CSV for ~15 % more
            # bytes, a good trade for files downloaded once.
            self._zip = zipfile.ZipFile(
                self._dest, "w", zipfile.ZIP_DEFLATED, compresslevel=DEFLATE_LEVEL
            )
        return self._zip

    def _claim(self, name: str) -> None:
        taken = name in self._parts or name in self._streams
        if taken or name == MANIFEST_NAME or "/" in name or "\\" in name:
            raise ValueError(f"invalid or repeated file name in a report: {name!r}")
        self._order.append(name)

    def path(self, name: str, *, compress: bool = True) -> Path:
        """A fresh path to write ``name`` to; a part never written is left out of the ZIP.

        ``compress=False`` stores the file as is (for formats already compressed, as XLSX).
        """
        self._claim(name)
        path = self._workdir / f"part-{len(self._parts)}"
        self._parts[name] = _Part(name, path, compress)
        return path

    def stream(self, name: str) -> DeflatedSpool:
        """A stream of bytes deflated, while the build goes on, for the ZIP's ``name``."""
        self._claim(name)
        stream = DeflatedSpool(self._workdir / f"stream-{len(self._streams)}", name=name)
        self._streams[name] = stream
        return stream

    def spool_path(self) -> Path:
        """A fresh path for a working file that stays out of the ZIP."""
        self._spools += 1
        return self._workdir / f"spool-{self._spools}"

    def pack(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Finish the ZIP: every file in the order asked for, then manifest.json; the manifest."""
        zf = self._archive()
        for stream in self._streams.values():
            stream.close()
        files = []
        for name in self._order:
            if name in self._streams:
                files.append(_add_deflated(zf, self._streams[name]))
            elif (part := self._parts[name]).path.exists():  # a part never written is left out
                files.append(_copy_into(zf, part))
        complete = {**manifest, "files": [_listing(f) for f in files]}
        # Stored, not deflated: a copy served from the cache rewrites it with its own job id
        # (reports_shared.reportcopy), and stays the very same size as the original.
        zf.writestr(
            _member(MANIFEST_NAME, zipfile.ZIP_STORED),
            json.dumps(complete, ensure_ascii=False, indent=2) + "\n",
        )
        zf.close()
        return complete

    def abort(self) -> None:
        """Stop streaming and close the (incomplete) ZIP; the caller removes it."""
        # The build's own error is the one to report, not what closing adds to it.
        for stream in self._streams.values():
            with suppress(Exception):
                stream.close()
        if self._zip is not None:
            with suppress(Exception):
                self._zip.close()


def _listing(packed: PackedFile) -> dict[str, Any]:
    return {"name": packed.name, "sizeBytes": packed.size_bytes, "sha256": packed.sha256}


def _member(name: str, compress_type: int) -> zipfile.ZipInfo:
    """A member's entry dated now and readable by all (zipfile's own: 1980, and 0600)."""
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = compress_type
    info.external_attr = 0o644 << 16
    return info


def _add_deflated(zf: zipfile.ZipFile, stream: DeflatedSpool) -> PackedFile:
    write_deflated(
        zf,
        _member(stream.name, zipfile.ZIP_DEFLATED),
        stream.chunks(),
        crc=stream.crc,
        size=stream.size,
        force_zip64=stream.size >= _ZIP64_FROM,
    )
    return PackedFile(stream.name, stream.size, stream.sha256)


def _copy_into(zf: zipfile.ZipFile, part: _Part) -> PackedFile:
    size = part.path.stat().st_size
    target_name = _member(part.name, zipfile.ZIP_DEFLATED if part.compress else zipfile.ZIP_STORED)
    digest = hashlib.sha256()
    with (
        part.path.open("rb") as source,
        open_member(zf, target_name, force_zip64=size >= _ZIP64_FROM) as target,
    ):
        while chunk := source.read(COPY_CHUNK):
            digest.update(chunk)
            target.write(chunk)
    return PackedFile(part.name, size, digest.hexdigest())
