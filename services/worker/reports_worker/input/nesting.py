"""A cheap lexical pre-check that keeps hostile JSON from exhausting the parser's memory.

ijson builds a path string per nesting level, so memory grows with the square of the
depth: 100,000 nested ``[`` take tens of GB. This guard follows the payload's brackets
(outside strings) chunk by chunk, in C (``_scan.c``, one pass, the GIL released), and
stops a payload nested deeper than :data:`MAX_DEPTH`, or holding a string longer than
:data:`MAX_STRING_BYTES`, before the parser sees it. The same pass finds where the array
of records can be cut into batches (:mod:`.arraysplit`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from reports_shared.errors import InvalidPayload

from . import _scan

MAX_DEPTH = 200
MAX_STRING_BYTES = 8 << 20
#: A level no array is at: :meth:`NestingGuard.follow` looks for no comma.
NO_LEVEL = -1

_TOKENS = re.compile(rb'[\[\]{}",\\]')
_OPEN = frozenset(b"[{")
CLOSING = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
#: Depth, whether a string is open, whether its next byte is escaped.
State = tuple[int, bool, bool]


class NestingGuard:
    """Checks consecutive chunks of JSON (or NDJSON) text; raises InvalidPayload."""

    def __init__(self, max_depth: int = MAX_DEPTH, max_string: int = MAX_STRING_BYTES) -> None:
        self._max_depth = max_depth
        self._max_string = max_string
        self._depth = 0
        self._in_string = False
        self._string_start = 0
        self._escape_pending = False

    def state(self) -> State:
        """Depth, whether a string is open, whether its next byte is escaped."""
        return self._depth, self._in_string, self._escape_pending

    def check(self, chunk: bytes, offset: int) -> None:
        """Follow ``chunk``, which starts at byte ``offset`` of the payload."""
        self.follow(chunk, offset, NO_LEVEL)

    def follow(self, chunk: bytes, offset: int, level: int) -> tuple[int, int, int]:
        """:meth:`check` ``chunk``; also, for the array at nesting ``level``: the offset in
        ``chunk`` of its last comma outside strings (-1: none, or the array closed first),
        how many such commas there are, and where the array closes (-1: not in ``chunk``)."""
        depth, in_string, escaped, comma, close, too_deep, string_start, commas = _scan.follow(
            chunk, self._depth, self._in_string, self._escape_pending, level, self._max_depth
        )
        if too_deep >= 0:
            raise InvalidPayload(
                f"El JSON tiene más de {self._max_depth} niveles de anidamiento en el byte "
                f"{offset + too_deep}; no se procesa por seguridad."
            )
        if in_string:
            if string_start >= 0:
                self._string_start = offset + string_start
            if offset + len(chunk) - self._string_start > self._max_string:
                raise InvalidPayload(
                    f"Hay un texto de más de {self._max_string:,} bytes que empieza cerca del "
                    f"byte {self._string_start}; no se procesa por seguridad."
                )
        self._depth, self._in_string, self._escape_pending = depth, in_string, escaped
        return comma, commas, close


def structure(data: bytes, state: State) -> Iterator[tuple[int, int, int]]:
    """The structural bytes of ``data`` outside strings: (offset, byte, depth before it).

    ``state`` (depth, inside a string, next byte escaped) describes the text just before
    ``data``. The reference tokenizer of the input, byte by byte in Python: ``_scan.c``
    does the same at C speed (the tests hold it to this), this finds the first array.
    """
    depth, in_string, escaped = state
    skip = 0 if escaped else -1
    for match in _TOKENS.finditer(data):
        at = match.start()
        if at == skip:
            continue
        byte = data[at]
        if in_string:
            if byte == _BACKSLASH:
                skip = at + 1
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        else:
            yield at, byte, depth
            if byte in _OPEN:
                depth += 1
            elif byte in CLOSING:
                depth -= 1
