"""Serving a ZIP from storage: streamed, resumable (Range), safely named."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from litestar import Response
from litestar.response import Stream

from reports_shared.objectstore import ObjectReader, ObjectStore

from ..errors import RangeNotSatisfiable

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (start, end) of a single-range ``Range`` header, None for the whole file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: RFC 9110 lets us send it all
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(
            f"El rango solicitado no está dentro del archivo de {size} bytes."
        )
    return start, end


def content_disposition(file_name: str) -> str:
    """RFC 6266 attachment header: an ASCII fallback and the exact UTF-8 name."""
    fallback = _SAFE_NAME.sub("_", file_name) or "reporte.zip"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def _chunks(reader: ObjectReader) -> Iterator[bytes]:
    try:
        yield from reader.iter_chunks(256 * 1024)
    finally:
        reader.close()


@dataclass(frozen=True, slots=True)
class ZipAnswer:
    """What a download answers, GET or HEAD alike: status, headers and the bytes to send."""

    status: int
    headers: dict[str, str]
    start: int
    length: int


async def zip_answer(
    objects: ObjectStore,
    key: str,
    file_name: str,
    range_header: str | None,
    if_range: str | None,
) -> ZipAnswer:
    """The status and headers of the object at ``key`` as a download, whole or a range."""
    info = await asyncio.to_thread(objects.stat, key)
    etag = f'"{info.etag}"'
    headers = {
        "Content-Disposition": content_disposition(file_name),
        "Cache-Control": "no-store",
        "Accept-Ranges": "bytes",
        "ETag": etag,
    }
    wanted = byte_range(range_header, info.size) if if_range in (None, etag) else None
    if wanted is None:
        start, length, status = 0, info.size, 200
    else:
        start, length, status = wanted[0], wanted[1] - wanted[0] + 1, 206
        headers["Content-Range"] = f"bytes {wanted[0]}-{wanted[1]}/{info.size}"
    headers["Content-Length"] = str(length)
    return ZipAnswer(status, headers, start, length)


async def zip_response(
    objects: ObjectStore, key: str, answer: ZipAnswer
) -> Response[object] | Stream:
    """The download itself: the bytes ``answer`` names, streamed from storage."""
    status, headers = answer.status, answer.headers
    if answer.length == 0:
        return Response(b"", status_code=status, headers=headers, media_type="application/zip")
    reader = await asyncio.to_thread(objects.open, key, answer.start, answer.length)
    return Stream(
        _chunks(reader), status_code=status, headers=headers, media_type="application/zip"
    )
