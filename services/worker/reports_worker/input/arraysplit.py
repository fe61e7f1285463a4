"""A JSON array of records cut into batches of whole records, for msgspec to decode.

The payload is read in blocks of about 1 MB. The nesting guard follows every byte in C
(the depth, whether a string is open) and, in the same pass, finds the block's last comma
between two records. The bytes before it are decoded by msgspec as one array of raw
records. A batch that does not decode holds the end of the array (or bad JSON): it is
scanned in full, once, for where the array ends. So a wrong cut can only come from
invalid JSON, and is always reported with its byte offset.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator

import msgspec

from reports_shared.errors import InvalidPayload

from . import _scan
from .content import Content
from .messages import TRUNCATED, invalid_json
from .nesting import NestingGuard, State, structure

BLOCK_BYTES = 1 << 20
#: A record bigger than this (bytes between two cuts) stops the build.
MAX_BATCH_BYTES = 64 << 20
_WHITESPACE = b" \t\r\n"
_BRACKET = ord("[")
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_MSGSPEC_REASONS = {
    "truncated": TRUNCATED,
    "trailing comma": "sobra una coma antes del cierre",
    "expected ',' or ']'": "tras un elemento se esperaba ',' o ']'",
    "expected ',' or '}'": "tras un valor se esperaba ',' o '}'",
    "expected ':'": "falta ':' tras una clave",
    "expected '\"'": "una clave no es un texto entre comillas",
    "invalid escaped character": "hay una secuencia de escape no válida en un texto",
    "invalid number": "hay un número mal formado",
    "invalid character": "hay un carácter no válido",
    "trailing characters": "hay contenido después del final de un registro",
}


def scan(data: bytes, state: State, level: int) -> tuple[int, int]:
    """Where, in ``data``, the array at nesting ``level`` has its last comma and its end.

    ``state`` (depth, inside a string, next byte escaped) describes the text just before
    ``data``. Returns the offset of the last comma at ``level`` outside strings before
    the array closes, and the offset of the bracket that closes it; -1 for none.
    (``data`` has passed the nesting guard: no depth limit here.)
    """
    _, _, _, comma, close, _, _ = _scan.follow(data, *state, level, sys.maxsize)
    return comma, close


def first_array(head: bytes) -> int:
    """Offset of the ``[`` that opens the first array directly under the top-level object."""
    for at, byte, depth in structure(head, (0, False, False)):
        if byte == _BRACKET and depth == 1:
            return at
    return -1


#: What checks the bytes after the array: the rest of the payload, read block by block.
Finish = Callable[[bytes, int, Iterator[bytes]], None]


class ArraySplitter:
    """Raw records of one JSON array in the payload, the bytes around it checked too.

    ``start`` is the offset just after the array's ``[`` and ``level`` its nesting depth
    inside it (1 for a top-level array, 2 for one held by an object); ``finish`` checks
    whatever follows the array.
    """

    def __init__(
        self, content: Content, guard: NestingGuard, *, start: int, level: int, finish: Finish
    ) -> None:
        self._content = content
        self._guard = guard
        self._start = start
        self._level = level
        self._finish = finish

    def records(self) -> Iterator[msgspec.Raw]:
        """Every element of the array, as raw JSON, in order."""
        for _, raws in self.batches():
            yield from raws

    def batches(self) -> Iterator[tuple[bytes, list[msgspec.Raw]]]:
        """The array's elements in batches: the batch's text (no brackets), its records."""
        first = self._content.read(self._start)
        self._guard.check(first, 0)
        block = self._content.read(BLOCK_BYTES)
        block_start = self._start
        pending, offset, batches = b"", self._start, 0
        while block:
            cut = self._guard.follow(block, block_start, self._level)
            if cut >= 0:
                batch = pending + block[:cut]
                try:
                    records = _decode_batch(batch, offset)
                except InvalidPayload:  # the array ended before the cut, or bad JSON
                    yield from self._settle(pending + block, offset, batches)
                    return
                yield batch, records
                batches += 1
                pending, offset = block[cut + 1 :], block_start + cut + 1
            else:
                pending += block
                if len(pending) > MAX_BATCH_BYTES:
                    raise InvalidPayload(
                        f"Un registro que empieza cerca del byte {offset} supera el máximo de "
                        f"{MAX_BATCH_BYTES:,} bytes."
                    )
            block = self._content.read(BLOCK_BYTES)
            block_start = self._content.offset - len(block)
        yield from self._settle(pending, offset, batches)

    def _settle(
        self, region: bytes, offset: int, batches: int
    ) -> Iterator[tuple[bytes, list[msgspec.Raw]]]:
        """The records of ``region``, which holds the end of the array, then the rest."""
        # A region starts right after "[" or a cut comma: at the array's level, in no string.
        _, close = scan(region, (self._level, False, False), self._level)
        if close < 0:
            try:  # without the closing bracket: msgspec finds either an error or the end
                _raw_list.decode(b"[" + region)
            except msgspec.DecodeError as exc:
                if "truncated" not in str(exc):
                    raise _located(str(exc), offset, len(region)) from None
            raise invalid_json(offset + len(region), TRUNCATED)
        last = region[:close]
        yield last, _decode_batch(last, offset, empty_allowed=batches == 0)
        self._finish(region[close + 1 :], offset + close + 1, self._rest())

    def _rest(self) -> Iterator[bytes]:
        while block := self._content.read(BLOCK_BYTES):
            self._guard.check(block, self._content.offset - len(block))
            yield block


def nothing_after(after: bytes, offset: int, rest: Iterator[bytes]) -> None:
    """What follows a top-level array: whitespace only."""
    for chunk in (after, *rest):
        stripped = chunk.lstrip(_WHITESPACE)
        if stripped:
            raise invalid_json(
                offset + len(chunk) - len(stripped), "hay contenido después del final del JSON"
            )
        offset += len(chunk)


def _decode_batch(batch: bytes, offset: int, *, empty_allowed: bool = False) -> list[msgspec.Raw]:
    """The records in ``batch`` (array elements without the brackets) starting at ``offset``."""
    if not batch.strip(_WHITESPACE):
        if empty_allowed:
            return []
        raise invalid_json(offset, "sobra una coma o falta un registro")
    try:
        return _raw_list.decode(b"[" + batch + b"]")
    except msgspec.DecodeError as exc:
        raise _located(str(exc), offset, len(batch)) from None


def _located(message: str, offset: int, size: int) -> InvalidPayload:
    where = re.search(r"\(byte (\d+)\)", message)
    # The batch was wrapped in "[...]": byte 1 of the wrapped text is byte `offset`.
    at = offset + int(where.group(1)) - 1 if where else offset + size
    reason = next(
        (spanish for english, spanish in _MSGSPEC_REASONS.items() if english in message),
        "error de sintaxis",
    )
    return invalid_json(at, reason)
