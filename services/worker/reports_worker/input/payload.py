"""Records out of a payload, as a stream: a JSON array, an object holding one, or NDJSON.

The array (at the top or under the object's one array-valued key; an object with more
than one is refused, naming them) is cut into batches of records (:mod:`.arraysplit`), NDJSON
into lines; both are handed over undecoded, for
msgspec to decode straight into the report's schema with exact decimals. ijson's C
backend (yajl2_c) checks what surrounds a wrapped array: the keys before it, found in a
look-ahead, and everything after it. Memory does not grow with the number of records,
and every byte passes the nesting guard before a parser sees it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Literal

import ijson
import msgspec

from reports_shared.errors import InvalidPayload

from .arraysplit import BLOCK_BYTES, ArraySplitter, first_array, nothing_after
from .batches import ArrayBatch, Batch, LineBatch
from .content import Content, RawCounter, Source
from .messages import TRUNCATED, invalid_json, several_arrays
from .nesting import NestingGuard

Shape = Literal["array", "object", "ndjson"]

#: ijson's C backend: 60-90 MB/s where the pure-Python one does 2-3.
try:
    _IJSON = ijson.get_backend("yajl2_c")
except ImportError as exc:  # pragma: no cover - a broken install must not slow down silently
    raise ImportError("ijson's yajl2_c backend is required (pip install ijson wheels)") from exc

_WHITESPACE = b" \t\r\n"
#: Any JSON, numbers as decimals (as floats, 1e400 would be "out of range").
_ANY_JSON = msgspec.json.Decoder(float_hook=Decimal)
#: How far the reader looks ahead to tell NDJSON from JSON and to find a wrapped array.
LOOKAHEAD_BYTES = 1 << 20
DISCOVERY_LIMIT_BYTES = 4 << 20
MAX_LINE_BYTES = 16 << 20
#: NDJSON lines per batch: about as many bytes as an array's batch.
BATCH_BYTES = BLOCK_BYTES
_READ_SIZE = 1 << 16


class Payload:
    """A payload opened for reading: its shape, its records and how far it has been read."""

    def __init__(self, source: Source, *, max_input_bytes: int) -> None:
        self.raw = RawCounter(source)
        self._content = Content(self.raw, max_input_bytes)
        self._guard = NestingGuard()
        self.shape, self._start, self._key = _detect(self._content)
        #: Where the NDJSON line last handed out starts, and its number, for messages.
        self.line_offset = 0
        self.line_number = 0

    def batches(self) -> Iterator[Batch]:
        """The records in batches of about :data:`BATCH_BYTES`, for :mod:`.decoding`."""
        if self.shape == "ndjson":
            yield from self._line_batches()
            return
        first = 1
        for data, offset, count in self._splitter().batches():
            if count:
                yield ArrayBatch(data, first, count, offset)
                first += count

    def _splitter(self) -> ArraySplitter:
        top = self.shape == "array"
        return ArraySplitter(
            self._content,
            self._guard,
            start=self._start,
            level=1 if top else 2,
            finish=nothing_after if top else _ObjectRest(self._key),
        )

    def _line_batches(self) -> Iterator[LineBatch]:
        lines: list[tuple[bytes, int, int]] = []
        first, size = 1, 0
        for line in self._lines():
            lines.append((line, self.line_number, self.line_offset))
            size += len(line)
            if size >= BATCH_BYTES:
                yield LineBatch(lines, first)
                first += len(lines)
                lines, size = [], 0
        if lines:
            yield LineBatch(lines, first)

    def _lines(self) -> Iterator[bytes]:
        content = self._content
        pending = b""
        pending_offset = 0
        number = 0
        while chunk := content.read(_READ_SIZE):
            self._guard.check(chunk, content.offset - len(chunk))
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                number += 1
                offset, pending_offset = pending_offset, pending_offset + len(line) + 1
                if line.strip(_WHITESPACE):
                    self.line_offset, self.line_number = offset, number
                    yield line
            if len(pending) > MAX_LINE_BYTES:
                raise InvalidPayload(
                    f"La línea {number + 1} (byte {pending_offset}) supera el máximo de "
                    f"{MAX_LINE_BYTES:,} bytes por registro."
                )
        if pending.strip(_WHITESPACE):
            self.line_offset, self.line_number = pending_offset, number + 1
            yield pending


class _Chunks:
    """Chunks of bytes as a file for ijson, remembering where the last read began.

    Reads return the full size asked for until the end: yajl2_c takes a short read for
    the end of the input.
    """

    def __init__(self, offset: int, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self.chunk = b""
        self.start = offset
        self._next = offset

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            more = next(self._chunks, b"")
            if not more:
                break
            self._buffer += more
        self.chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        self.start = self._next
        self._next += len(self.chunk)
        return self.chunk


class _ObjectRest:
    """What follows a wrapped array must complete the object: ``, "k": v ... }``.

    No other key may hold an array: which one the records are would be a guess.
    """

    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, after: bytes, offset: int, rest: Iterator[bytes]) -> None:
        opening = b'{"":0'  # stands for the object up to the end of the array
        chunks = _Chunks(offset - len(opening), iter((opening + after, *rest)))
        depth, key = 0, ""
        try:
            for event, value in _IJSON.basic_parse(chunks, use_float=False):
                if event == "map_key" and depth == 1:
                    key = value
                elif event in ("start_map", "start_array"):
                    if event == "start_array" and depth == 1:
                        raise several_arrays([self._key, key])
                    depth += 1
                elif event in ("end_map", "end_array"):
                    depth -= 1
        except ijson.JSONError as exc:
            at = chunks.start + _locate_in(chunks.chunk, exc) if chunks.chunk else chunks.start
            raise invalid_json(max(at, offset), _reason(exc)) from None
        except UnicodeDecodeError:  # yajl lets a lone surrogate through, Python does not
            at = chunks.start + _bad_utf8_at(chunks.chunk)
            raise invalid_json(max(at, offset), _NOT_UTF8) from None


def _bad_utf8_at(data: bytes) -> int:
    """Where ``data`` stops being valid UTF-8 (its length if it never does)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return len(data)


def _locate_in(chunk: bytes, error: Exception) -> int:
    message = error.args[0] if error.args else b""
    raw = message if isinstance(message, bytes) else str(message).encode("utf-8")
    lines = raw.split(b"\n")
    if len(lines) < 2 or not lines[1].strip():
        return len(chunk)
    # yajl prints up to 30 bytes either side of the error so that the byte after it
    # falls on column 40, with newlines shown as spaces.
    before, after = lines[1][:40].lstrip(b" "), lines[1][40:]
    pattern = b"".join(
        rb"\s" if byte == 0x20 else re.escape(bytes([byte])) for byte in before + after
    )
    found = re.search(pattern, chunk)
    return max(found.start() + len(before) - 1, 0) if found else len(chunk)


_NOT_UTF8 = "hay bytes que no son UTF-8 válido"
_YAJL_REASONS = {
    "premature EOF": TRUNCATED,
    "trailing garbage": "hay contenido después del final del JSON",
    "invalid char in json text": "hay un carácter no válido",
    "invalid character inside string": "hay un carácter de control dentro de un texto",
    "invalid bytes in UTF8 string": _NOT_UTF8,
    "unallowed token at this point in JSON text": "hay un elemento inesperado en esa posición",
    "after array element, I expect ',' or ']'": "tras un elemento se esperaba ',' o ']'",
    "after key and value, inside map, I expect ',' or '}'": "tras un valor se esperaba ',' o '}'",
    "object key and value must be separated by a colon (':')": "falta ':' tras una clave",
    "invalid object key - must be a string": "una clave no es un texto entre comillas",
    "probable comment found in input text, comments are not enabled.": (
        "hay un comentario, y JSON no los admite"
    ),
}


def _reason(error: Exception) -> str:
    message = error.args[0] if error.args else ""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    first = text.split("\n", 1)[0].split(": ", 1)[-1].strip()
    for english, spanish in _YAJL_REASONS.items():
        if first.startswith(english.rstrip(".")):
            return spanish
    if "escape" in first or "string" in first:
        return "hay un texto mal formado"
    if "number" in first or "digit" in first:
        return "hay un número mal formado"
    return "error de sintaxis"


def _detect(content: Content) -> tuple[Shape, int, str]:
    """The payload's shape; for JSON, the offset just after the array's ``[``, and the key
    that holds it in an object."""
    head = content.peek(LOOKAHEAD_BYTES)
    start = len(head) - len(head.lstrip(_WHITESPACE))
    if start == len(head):
        raise InvalidPayload("El contenido está vacío: se esperaba una lista JSON de registros.")
    first = head[start : start + 1]
    if first == b"[":
        return "array", start + 1, ""
    if first != b"{":
        raise InvalidPayload(
            "El JSON debe ser una lista de registros ([...]), un objeto que la contenga o "
            f"NDJSON (un objeto por línea), pero empieza con {_describe(first)} en el byte "
            f"{start}."
        )
    if _is_ndjson(head[start:]):
        return "ndjson", 0, ""
    return "object", *_wrapped_start(content)


def _describe(first: bytes) -> str:
    if first == b'"':
        return "un texto"
    if first in b"-0123456789":
        return "un número"
    if first in (b"t", b"f", b"n"):
        return "un literal (true, false o null)"
    return f"el carácter {first.decode('utf-8', 'replace')!r}"


def _is_ndjson(head: bytes) -> bool:
    """A first line that is a whole object, followed by anything but whitespace, means NDJSON.

    No single JSON document goes on after its top-level object has closed; each later
    line is then checked as JSON on its own (a line that is not an object is a rejected
    record).
    """
    end = head.find(b"\n")
    if end < 0:
        return False
    try:
        _ANY_JSON.decode(head[:end])
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return False
    return bool(head[end:].lstrip(_WHITESPACE))


def _wrapped_start(content: Content) -> tuple[int, str]:
    """Offset just after the ``[`` of the first array-valued key of the top-level object,
    and that key.

    ijson checks the object up to there (its keys and values before the array).
    """
    size = _READ_SIZE
    while True:
        head = content.peek(size)
        whole = len(head) < size
        NestingGuard().check(head, 0)  # before ijson, whose memory grows with depth squared
        try:
            key = _first_array(head)
        except UnicodeDecodeError:  # in a key: yajl lets a lone surrogate through
            raise invalid_json(_bad_utf8_at(head), _NOT_UTF8) from None
        except ijson.IncompleteJSONError as exc:
            truncated = _reason(exc) == _YAJL_REASONS["premature EOF"]
            if truncated and not whole and size < DISCOVERY_LIMIT_BYTES:
                size *= 4
                continue
            if truncated and not whole:
                raise InvalidPayload(
                    "El objeto JSON no contiene ninguna lista de registros en sus primeros "
                    f"{DISCOVERY_LIMIT_BYTES:,} bytes; ponga la lista antes que otros datos."
                ) from None
            raise invalid_json(_locate_in(head, exc), _reason(exc)) from None
        if key is None:
            raise InvalidPayload(
                "El objeto JSON no contiene ninguna lista de registros "
                '(se esperaba, por ejemplo, {"facturas": [...]}).'
            )
        return first_array(head) + 1, key


def _first_array(head: bytes) -> str | None:
    """The key of the first array directly under the top-level object, None if none."""
    depth, key = 0, ""
    for _prefix, event, value in _IJSON.parse(io.BytesIO(head), use_float=False):
        if event == "map_key" and depth == 1:
            key = value
        if event == "start_array" and depth == 1:
            return key
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                return None
    return None
