"""A cheap lexical pre-check that keeps hostile JSON from exhausting the parser's memory.

ijson builds a path string per nesting level, so memory grows with the square of the
depth: 100,000 nested ``[`` take tens of GB. This guard follows the payload's brackets
(outside strings) chunk by chunk with a few C-speed bytes operations and stops a payload
nested deeper than :data:`MAX_DEPTH`, or holding a string longer than
:data:`MAX_STRING_BYTES`, before the parser sees it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import accumulate, pairwise

from reports_shared.errors import InvalidPayload

MAX_DEPTH = 200
MAX_STRING_BYTES = 8 << 20

_STRUCTURAL = b'"[]{}'
_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in _STRUCTURAL)
_STRING = re.compile(rb'"[^"]*"')
_TOKENS = re.compile(rb'[\[\]{}",\\]')
_OPEN = frozenset(b"[{")
CLOSING = frozenset(b"]}")
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
#: Depth, whether a string is open, whether its next byte is escaped.
State = tuple[int, bool, bool]
#: Brackets only, in slices this long, get an exact depth check when their bound fails.
_SLICE = 64


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
        before = self._depth, self._in_string, self._escape_pending
        brackets = self._brackets(chunk, offset)
        opens = brackets.count(b"[") + brackets.count(b"{")
        if self._depth + opens > self._max_depth and self._too_deep(brackets):
            at = offset + self._first_too_deep(chunk, before)
            raise InvalidPayload(
                f"El JSON tiene más de {self._max_depth} niveles de anidamiento en el byte "
                f"{at}; no se procesa por seguridad."
            )
        self._depth += opens - (len(brackets) - opens)

    def _brackets(self, chunk: bytes, offset: int) -> bytes:
        """The structural brackets of ``chunk``: strings, escapes and all else removed."""
        data = b"\\" + chunk if self._escape_pending else chunk
        self._escape_pending = False
        # An odd run of backslashes at the end escapes the first byte of the next chunk.
        if data.endswith(b"\\") and (len(data) - len(data.rstrip(b"\\"))) % 2:
            self._escape_pending = True
            data = data[:-1]
        skeleton = _without_escaped_quotes(data).translate(None, _NOT_STRUCTURAL)
        opened = self._in_string
        if opened:
            skeleton = b'"' + skeleton
        brackets = skeleton.replace(b'""', b"")
        quotes = brackets.count(b'"')
        # Fast path: removing adjacent quote pairs left no quote, or one at the very end.
        # Then every string paired with its neighbour and no bracket sat inside a string.
        if quotes == 0:
            self._in_string = False
            return brackets
        if not (quotes == 1 and brackets.endswith(b'"')):
            brackets = _STRING.sub(b"", skeleton)
            if b'"' not in brackets:
                self._in_string = False
                return brackets
        quote = brackets.index(b'"')
        if not (opened and skeleton.count(b'"') == 1):  # else the open string goes on
            self._string_start = offset + max(chunk.rfind(b'"'), 0)
        self._in_string = True
        if offset + len(chunk) - self._string_start > self._max_string:
            raise InvalidPayload(
                f"Hay un texto de más de {self._max_string:,} bytes que empieza cerca del byte "
                f"{self._string_start}; no se procesa por seguridad."
            )
        return brackets[:quote]

    def _too_deep(self, brackets: bytes) -> bool:
        """Whether ``brackets`` go deeper than the limit (checked slice by slice)."""
        depth = self._depth
        for start in range(0, len(brackets), _SLICE):
            piece = brackets[start : start + _SLICE]
            opens = piece.count(b"[") + piece.count(b"{")
            if depth + opens > self._max_depth:
                steps = (1 if byte in b"[{" else -1 for byte in piece)
                if max(accumulate(steps, initial=depth)) > self._max_depth:
                    return True
            depth += opens - (len(piece) - opens)
        return False

    def _first_too_deep(self, chunk: bytes, state: State) -> int:
        """Offset in ``chunk`` of the bracket that first opens past the limit (error path).

        ``state`` is the guard's before ``chunk``; :func:`structure` follows the strings and
        escapes byte by byte.
        """
        for at, byte, depth in structure(chunk, state):
            if byte in _OPEN and depth >= self._max_depth:
                return at
        return 0  # not reached: the brackets said so


def structure(data: bytes, state: State) -> Iterator[tuple[int, int, int]]:
    """The structural bytes of ``data`` outside strings: (offset, byte, depth before it).

    ``state`` (depth, inside a string, next byte escaped) describes the text just before
    ``data``. The one byte-by-byte tokenizer of the input: the array splitter's scans
    and the guard's error message follow strings and escapes here only.
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


def _without_escaped_quotes(data: bytes) -> bytes:
    """``data`` without the quotes that a backslash escapes (those are not delimiters)."""
    if b'\\"' not in data:
        return data
    pieces = data.split(b'\\"')
    kept = [pieces[0]]
    for before, piece in pairwise(pieces):
        # The quote is escaped when an odd number of backslashes precede it; the split
        # ate one of them, so an even number left at the end of `before` means escaped.
        if (len(before) - len(before.rstrip(b"\\"))) % 2:
            kept.append(b'"')
        kept.append(piece)
    return b"".join(kept)
