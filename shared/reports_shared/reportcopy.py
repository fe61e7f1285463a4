"""A cached report copied as another job's own: its job id in manifest.json and file name.

A report's ZIP names its job twice: ``jobId`` in ``manifest.json`` and the tag at the end of
its file name (nothing else in it does: the workbook leaves the job out). The manifest is
the ZIP's last member, so a copy for another job is the original's bytes up to the
manifest, copied as they are (streamed, never held), then a new manifest and central
directory written here, a few kilobytes. The big members are never decompressed.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # not at run time: the build imports job_tag, and minio is heavy
    from .objectstore import ObjectReader, ObjectStore

MANIFEST_NAME = "manifest.json"
_CHUNK = 1 << 20


class NotACopyableReport(ValueError):
    """The ZIP is not laid out as a report is (no manifest last): it cannot be re-labelled."""


def job_tag(job_id: str) -> str:
    """What of a job id a report's file name carries: its first 8 safe characters."""
    return re.sub(r"[^A-Za-z0-9-]", "", job_id)[:8] or "reporte"


def file_name_for(file_name: str, job_id: str) -> str:
    """A report's file name (``<stem>_<yyyymmdd>_<tag>.zip``) with the tag of ``job_id``."""
    stem = file_name.removesuffix(".zip").rpartition("_")[0] or file_name.removesuffix(".zip")
    return f"{stem}_{job_tag(job_id)}.zip"


def copy_for_job(objects: ObjectStore, source_key: str, dest_key: str, job_id: str) -> int:
    """Copy the report at ``source_key`` to ``dest_key`` as job ``job_id``'s; its size.

    NotACopyableReport if the ZIP is not a report's; ObjectNotFound if it is gone.
    """
    size = objects.stat(source_key).size
    try:
        with zipfile.ZipFile(_RangeFile(objects, source_key, size)) as source:
            infos = source.infolist()
            manifest = source.getinfo(MANIFEST_NAME)
            content = json.loads(source.read(manifest))
    except (KeyError, zipfile.BadZipFile, ValueError) as exc:
        raise NotACopyableReport(f"{source_key}: {exc}") from exc
    others = [info for info in infos if info is not manifest]
    if any(info.header_offset > manifest.header_offset for info in others):
        raise NotACopyableReport(f"{source_key}: manifest.json is not the last member")
    content["jobId"] = job_id
    tail = _tail(others, manifest, content)
    prefix = manifest.header_offset
    objects.put_stream(
        dest_key, _Joined(objects, source_key, prefix, tail), prefix + len(tail), "application/zip"
    )
    return prefix + len(tail)


def _tail(others: list[zipfile.ZipInfo], manifest: zipfile.ZipInfo, content: Any) -> bytes:
    """The new manifest member and the central directory listing every member."""
    out = _Shifted(manifest.header_offset)
    with zipfile.ZipFile(out, "w") as archive:
        # The members before the manifest are already written (they are the copied prefix):
        # listed as they are, their offsets unchanged, so the central directory names them.
        for info in others:
            archive.filelist.append(info)
            archive.NameToInfo[info.filename] = info
        fresh = zipfile.ZipInfo(MANIFEST_NAME, date_time=manifest.date_time)
        fresh.compress_type = manifest.compress_type
        fresh.external_attr = manifest.external_attr
        archive.writestr(fresh, json.dumps(content, ensure_ascii=False, indent=2) + "\n")
    return out.getvalue()


class _Shifted(io.BytesIO):
    """An in-memory file that believes it starts ``offset`` bytes into the ZIP."""

    def __init__(self, offset: int) -> None:
        super().__init__()
        self._offset = offset

    def tell(self) -> int:
        return super().tell() + self._offset

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 0:
            pos -= self._offset
        return super().seek(pos, whence) + self._offset


class _RangeFile(io.RawIOBase):
    """A seekable read-only view of an object, each read a ranged GET (zipfile reads the
    central directory and one small member: a handful of requests)."""

    def __init__(self, objects: ObjectStore, key: str, size: int) -> None:
        self._objects, self._key, self._size, self._pos = objects, key, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        reader = self._objects.open(self._key, self._pos, want)
        try:
            data = reader.read(want)
        finally:
            reader.close()
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class _Joined:
    """The first ``prefix`` bytes of an object, then ``tail``: what the copy uploads."""

    def __init__(self, objects: ObjectStore, key: str, prefix: int, tail: bytes) -> None:
        self._chunks = _chunks(objects, key, prefix, tail)
        self._pending = bytearray()

    def read(self, size: int = -1, /) -> bytes:
        while size < 0 or len(self._pending) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending += chunk
        cut = len(self._pending) if size < 0 else size
        data = bytes(self._pending[:cut])
        del self._pending[:cut]
        return data


def _chunks(objects: ObjectStore, key: str, prefix: int, tail: bytes) -> Iterator[bytes]:
    if prefix:
        reader: ObjectReader = objects.open(key, 0, prefix)
        try:
            yield from reader.iter_chunks(_CHUNK)
        finally:
            reader.close()
    yield tail
