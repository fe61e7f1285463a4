"""A multipart/form-data body streamed from disk, with upload progress.

Written by hand rather than with httpx's ``files=`` so that the exact length is known up
front (the service refuses an oversized upload before reading it), the fields go before
the file (the service checks them before it stores a byte), and every chunk handed to the
connection is counted for the progress callback.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import BinaryIO

#: Bytes read from disk at a time.
CHUNK_SIZE = 256 * 1024

#: Called with (bytes done, total bytes or None).
ProgressCallback = Callable[[int, int | None], None]


def _quote(value: str) -> str:
    """A field or file name as browsers write it in Content-Disposition."""
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def content_type_for(file_name: str) -> str:
    """The media type of a dataset file, from its name."""
    return "application/gzip" if file_name.lower().endswith(".gz") else "application/json"


def size_of(source: BinaryIO) -> int:
    """Bytes from the start of a seekable file to its end (written but unflushed ones too)."""
    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    return size


class MultipartUpload:
    """Fields, then one file: iterable as many times as needed (each time from the start)."""

    def __init__(
        self,
        fields: Mapping[str, str],
        file_field: str,
        source: Path | BinaryIO,
        file_name: str,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.boundary = secrets.token_hex(16)
        self.source = source
        self.on_progress = on_progress
        self.file_size = source.stat().st_size if isinstance(source, Path) else size_of(source)
        self._head = (
            b"".join(self._field(name, value) for name, value in fields.items())
            + (
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="{_quote(file_field)}"; '
                f'filename="{_quote(file_name)}"\r\n'
                f"Content-Type: {content_type_for(file_name)}\r\n\r\n"
            ).encode()
        )
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        """The request's Content-Type header."""
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def length(self) -> int:
        """The request's Content-Length."""
        return len(self._head) + self.file_size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        sent = 0
        self._report(0)
        with self._open() as stream:
            while sent < self.file_size:
                chunk = stream.read(min(CHUNK_SIZE, self.file_size - sent))
                if not chunk:
                    raise OSError("el archivo se acortó mientras se enviaba")
                yield chunk
                sent += len(chunk)
                self._report(sent)
        yield self._tail

    def _field(self, name: str, value: str) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
            f"{value}\r\n"
        ).encode()

    def _open(self) -> AbstractContextManager[BinaryIO]:
        if isinstance(self.source, Path):
            return self.source.open("rb")
        self.source.seek(0)
        return nullcontext(self.source)  # the caller's file: theirs to close

    def _report(self, sent: int) -> None:
        if self.on_progress is not None:
            self.on_progress(sent, self.file_size)
