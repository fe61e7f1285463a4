"""A JSON array of records cut into batches of whole records, for msgspec to decode.

The payload is read in blocks of about 1 MB. The nesting guard follows every byte in C
(the depth, whether a string is open) and, in the same pass, finds the block's last comma
between two records, counts the commas before it (the records of the batch cut there) and
sees where the array closes. A batch is not parsed here: whoever decodes it into the
report's schema checks its syntax (:func:`.decoding.decode_batch`, in a helper process as
often as not) and reports an error at its byte offset in the payload, as this module did
when it parsed every batch once more in the build's own process. The region that holds the
end of the array is parsed here, with what follows it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import msgspec

from reports_shared.errors import InvalidPayload

from . import _scan
from .content import Content
from .messages import TRUNCATED, array_syntax, invalid_json
from .nesting import NestingGuard, State, structure

BLOCK_BYTES = 1 << 20
#: A record bigger than this (bytes between two cuts) stops the build.
MAX_BATCH_BYTES = 64 << 20
_WHITESPACE = b" \t\r\n"
_BRACKET = ord("[")
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])


def scan(data: bytes, state: State, level: int) -> tuple[int, int]:
    """Where, in ``data``, the array at nesting ``level`` has its last comma and its end.

    ``state`` (depth, inside a string, next byte escaped) describes the text just before
    ``data``. Returns the offset of the last comma at ``level`` outside strings before
    the array closes, and the offset of the bracket that closes it; -1 for none.
    (``data`` has passed the nesting guard: no depth limit here.)
    """
    _, _, _, comma, close, _, _, _ = _scan.follow(data, *state, level, sys.maxsize)
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

    def batches(self) -> Iterator[tuple[bytes, int, int]]:
        """The array's elements in batches: the batch's text (no brackets), its offset in
        the payload and how many records it holds if it is valid JSON."""
        first = self._content.read(self._start)
        self._guard.check(first, 0)
        block = self._content.read(BLOCK_BYTES)
        block_start = self._start
        pending, offset, batches = b"", self._start, 0
        while block:
            cut, commas, close = self._guard.follow(block, block_start, self._level)
            if cut >= 0:
                batch = pending + block[:cut]
                if not batch.strip(_WHITESPACE):
                    raise invalid_json(offset, "sobra una coma o falta un registro")
                # A batch ends at the last of the block's commas: one record per comma.
                yield batch, offset, commas
                batches += 1
                pending, offset = block[cut + 1 :], block_start + cut + 1
            else:
                pending += block
                if len(pending) > MAX_BATCH_BYTES:
                    raise InvalidPayload(
                        f"Un registro que empieza cerca del byte {offset} supera el máximo de "
                        f"{MAX_BATCH_BYTES:,} bytes."
                    )
            if close >= 0:  # the array's last records, then what follows it, read on
                yield from self._settle(pending, offset, batches)
                return
            block = self._content.read(BLOCK_BYTES)
            block_start = self._content.offset - len(block)
        yield from self._settle(pending, offset, batches)

    def _settle(self, region: bytes, offset: int, batches: int) -> Iterator[tuple[bytes, int, int]]:
        """The records of ``region``, which holds the end of the array, then the rest."""
        # A region starts right after "[" or a cut comma: at the array's level, in no string.
        _, close = scan(region, (self._level, False, False), self._level)
        if close < 0:
            try:  # without the closing bracket: msgspec finds either an error or the end
                _raw_list.decode(b"[" + region)
            except msgspec.DecodeError as exc:
                if "truncated" not in str(exc):
                    raise array_syntax(str(exc), offset, len(region)) from None
            raise invalid_json(offset + len(region), TRUNCATED)
        last = region[:close]
        yield last, offset, len(raw_records(last, offset, empty_allowed=batches == 0))
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


def raw_records(batch: bytes, offset: int, *, empty_allowed: bool = False) -> list[msgspec.Raw]:
    """The records in ``batch`` (array elements without the brackets, found at ``offset``
    in the payload) as raw JSON; InvalidPayload at the byte of its first syntax error."""
    if not batch.strip(_WHITESPACE):
        if empty_allowed:
            return []
        raise invalid_json(offset, "sobra una coma o falta un registro")
    try:
        return _raw_list.decode(b"[" + batch + b"]")
    except msgspec.DecodeError as exc:
        raise array_syntax(str(exc), offset, len(batch)) from None
