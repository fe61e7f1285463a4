"""Files deflated by a background thread as they are written, added to a ZIP already deflated.

The build (pure Python, holding the GIL) hands over chunks of bytes; a thread deflates them
into a spool file, with their CRC-32, size and SHA-256. zlib-ng and hashlib release the GIL on
large buffers, so on two cores this work runs beside the build rather than after it: when
the last record is rendered, every file is deflated already and only its compressed bytes are
copied into the ZIP (:func:`write_deflated`), however many files were written at once.

A spool ends with the end of a deflate stream, or, for a piece of a larger member (the rows of
a sheet, between its head and foot), with a sync flush: deflate streams cut that way join
into one, as DEFLATE blocks do not refer back across a fresh compressor's start.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zipfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from zlib_ng import zlib_ng

from .deflate import COPY_CHUNK, DEFLATE_LEVEL

#: Chunks waiting for the thread, at most: the memory a spool holds (chunks are ~256 KB).
_QUEUE_CHUNKS = 4
#: How a deflate stream ends: for good, or byte-aligned with more of the stream to follow.
_END, _MORE = zlib_ng.Z_FINISH, zlib_ng.Z_SYNC_FLUSH


class DeflatedSpool:
    """Bytes written here are deflated into the file at ``path``; their CRC, size and digest kept.

    ``final``: the spool ends its deflate stream (a whole member); otherwise it ends with a
    sync flush, to be followed by more of the member's stream. ``digest``: whether to keep
    the SHA-256 (a sheet's rows, a piece of an XLSX member, need none: it was a fifth of
    the spool thread's time).
    """

    def __init__(
        self, path: Path, *, final: bool = True, name: str = "", digest: bool = True
    ) -> None:
        self.path = path
        self.name = name or path.name
        self.size = 0
        self.crc = 0
        self.sha256 = ""
        self.closed = False
        self._final = final
        self._digest = digest
        self._queue: queue.Queue[bytes | None] = queue.Queue(_QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"deflate-{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        digest = hashlib.sha256() if self._digest else None
        compressor = _raw_deflater()
        crc32, crc, size = zlib_ng.crc32, 0, 0
        try:
            with self.path.open("wb") as out:
                while (chunk := self._queue.get()) is not None:
                    out.write(compressor.compress(chunk))
                    if digest is not None:
                        digest.update(chunk)
                    crc = crc32(chunk, crc)
                    size += len(chunk)
                out.write(compressor.flush(_END if self._final else _MORE))
        except BaseException as exc:  # handed to the writer on its next call
            self._error = exc
            while self._queue.get() is not None:  # let the writer finish without blocking
                pass
        self.crc, self.size = crc, size
        self.sha256 = digest.hexdigest() if digest is not None else ""

    def write(self, data: bytes) -> int:
        """Queue ``data`` for the spool (blocks while the thread is behind)."""
        if self._error is not None:
            raise self._error
        if data:
            self._queue.put(data)
        return len(data)

    def close(self) -> None:
        """Wait until the spool is complete; raise what went wrong in the thread."""
        self.closed = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def chunks(self) -> Iterable[bytes]:
        """The spool's deflated bytes, a megabyte at a time."""
        with self.path.open("rb") as spooled:
            while chunk := spooled.read(COPY_CHUNK):
                yield chunk

    def __enter__(self) -> DeflatedSpool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def deflated(data: bytes, *, final: bool) -> bytes:
    """``data`` as a deflate stream of its own: ended, or sync-flushed for more to follow."""
    compressor = _raw_deflater()
    out: bytes = compressor.compress(data) + compressor.flush(_END if final else _MORE)
    return out


def _raw_deflater() -> Any:
    """A compressor of raw deflate (no zlib header), as a ZIP member holds it."""
    return zlib_ng.compressobj(DEFLATE_LEVEL, zlib_ng.DEFLATED, -15)


def joined_crc(pieces: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """The CRC-32 and size of consecutive pieces given as (CRC-32, size) each."""
    crc = size = 0
    for piece_crc, piece_size in pieces:
        crc = zlib_ng.crc32_combine(crc, piece_crc, piece_size)
        size += piece_size
    return crc, size


def write_deflated(
    archive: zipfile.ZipFile,
    name: str | zipfile.ZipInfo,
    stream: Iterable[bytes],
    *,
    crc: int,
    size: int,
    force_zip64: bool = False,
) -> None:
    """Add member ``name``: ``stream`` is its whole deflate stream, of ``size`` bytes with ``crc``.

    zipfile offers no way to add deflated bytes: its member writer (_ZipWriteFile, CPython
    3.8 to 3.14) deflates what it is given with its ``_compressor`` and counts CRC and size
    in ``_crc`` and ``_file_size``. Here it is given a compressor that passes the bytes on,
    and the true CRC and size before it writes them to the member's headers.
    """
    handle: Any = archive.open(name, "w", force_zip64=force_zip64)
    if getattr(handle, "_compressor", None) is None:
        handle.close()
        raise ValueError(f"{name!r} is not a deflated member")
    handle._compressor = _AlreadyDeflated()
    with handle:
        for chunk in stream:
            handle.write(chunk)
        handle._crc, handle._file_size = crc, size


class _AlreadyDeflated:
    """Stands in for a member's compressor: the bytes it is given are deflated already."""

    @staticmethod
    def compress(data: bytes) -> bytes:
        return data

    @staticmethod
    def flush() -> bytes:
        return b""
