"""Payloads kept gzip-compressed in storage: the api deflates a dataset as it stores it, the
worker inflates it as it reads it.

A JSON dataset shrinks about 7× at zlib-ng's level 1 (37 MB to 5 MB for 45,000 invoices, in
0.06 s of one core), while an S3 server spends CPU on every byte it stores and serves
(SeaweedFS: 0.4-0.5 CPU-s to store those 37 MB, 0.05 s for the 5 MB). Both readers take and
give bytes a bounded piece at a time, so neither ever holds a dataset whole.
"""

from __future__ import annotations

from typing import Protocol

from zlib_ng import zlib_ng

from .errors import InvalidPayload

#: zlib-ng's fastest level: most of the size gone for the least CPU.
LEVEL = 1
#: What ``wbits`` selects the gzip container with (a header and a CRC-32 trailer).
_GZIP_WBITS = 16 + zlib_ng.MAX_WBITS
#: zlib-ng's error class (its stub calls it an instance).
_ZLIB_ERROR: type[Exception] = zlib_ng.error  # type: ignore[assignment]
#: Bytes read from the source at a time.
_READ_SIZE = 1 << 18


class Readable(Protocol):
    """A byte source read front to back; empty at the end."""

    def read(self, size: int = -1, /) -> bytes: ...


class Deflating:
    """Reads ``source`` gzip-compressed, as one gzip member (storage reads it in parts)."""

    def __init__(self, source: Readable, level: int = LEVEL) -> None:
        self._source = source
        self._deflater = zlib_ng.compressobj(level, zlib_ng.DEFLATED, _GZIP_WBITS)
        self._out = bytearray()
        self._ended = False

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` compressed bytes (all that is left when -1); empty only at the end."""
        while not self._ended and (size < 0 or len(self._out) < size):
            chunk = self._source.read(_READ_SIZE)
            if chunk:
                self._out += self._deflater.compress(chunk)
            else:
                self._out += self._deflater.flush()
                self._ended = True
        if size < 0 or size >= len(self._out):
            data = bytes(self._out)
            self._out.clear()
        else:
            data = bytes(self._out[:size])
            del self._out[:size]
        return data


class Inflating:
    """Reads a gzip-compressed ``source`` decompressed, never more than asked at a time."""

    def __init__(self, source: Readable) -> None:
        self._source = source
        self._inflater = zlib_ng.decompressobj(_GZIP_WBITS)
        self._input = b""
        self.compressed_bytes = 0

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` decompressed bytes (``_READ_SIZE`` when -1); empty at the end."""
        limit = size if size > 0 else _READ_SIZE
        while not self._inflater.eof:
            if not self._input:
                self._input = self._source.read(_READ_SIZE)
                self.compressed_bytes += len(self._input)
            ended = not self._input
            try:
                data = self._inflater.decompress(self._input, limit)
            except _ZLIB_ERROR as exc:
                raise InvalidPayload(
                    f"El dataset guardado está dañado (gzip, cerca del byte comprimido "
                    f"{self.compressed_bytes})."
                ) from exc
            self._input = self._inflater.unconsumed_tail
            if data:
                return data
            if ended:
                raise InvalidPayload(
                    "El dataset guardado está incompleto: su gzip termina antes de tiempo "
                    f"(byte comprimido {self.compressed_bytes})."
                )
        return b""
