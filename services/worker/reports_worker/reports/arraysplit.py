"""A top-level JSON array cut into batches of whole records, for msgspec to decode.

The payload is read in blocks of about 1 MB. The nesting guard follows every byte (it
knows, at C speed, the depth and whether a string is open); only the last few KB of a
block are scanned in Python, from the guard's state there, for the last comma between
two records. The bytes before it are decoded by msgspec as one array of raw records: a
batch that is not valid JSON fails there, with its byte offset, so a wrong cut can only
come from invalid JSON and is always reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import msgspec

from .errors import InvalidPayload
from .nesting import NestingGuard
from .payload import Content

BLOCK_BYTES = 1 << 20
#: The tail of a block scanned in Python for a cut; most records are far smaller.
TAIL_BYTES = 8 << 10
#: A record bigger than this (bytes between two cuts) stops the build.
MAX_BATCH_BYTES = 64 << 20
_WHITESPACE = b" \t\r\n"
_TOKENS = re.compile(rb'[\[\]{}",\\]')
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")
_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])
_MSGSPEC_REASONS = {
    "truncated": "el contenido termina antes de cerrar el JSON (¿archivo truncado?)",
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


def last_separator(tail: bytes, depth: int, in_string: bool, escaped: bool, level: int) -> int:
    """Offset in ``tail`` of the last comma at nesting ``level`` outside strings, or -1.

    ``depth``, ``in_string`` and ``escaped`` describe the text just before ``tail``.
    """
    found = -1
    skip = 0 if escaped else -1
    for match in _TOKENS.finditer(tail):
        at = match.start()
        if at == skip:
            continue
        byte = tail[at]
        if in_string:
            if byte == _BACKSLASH:
                skip = at + 1
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPEN:
            depth += 1
        elif byte in _CLOSE:
            depth -= 1
        elif byte == _COMMA and depth == level:
            found = at
    return found


class ArraySplitter:
    """Raw records of the JSON array that makes up the whole payload."""

    def __init__(self, content: Content, guard: NestingGuard) -> None:
        self._content = content
        self._guard = guard

    def records(self) -> Iterator[msgspec.Raw]:
        """Every element of the array, as raw JSON, in order."""
        pending, offset = self._opening()
        batches = 0
        while block := self._content.read(BLOCK_BYTES):
            start = self._content.offset - len(block)
            head, tail = block[:-TAIL_BYTES], block[-TAIL_BYTES:]
            self._guard.check(head, start)
            cut = last_separator(tail, *self._guard.state(), level=1)
            self._guard.check(tail, start + len(head))
            if cut < 0:
                pending += block
                if len(pending) > MAX_BATCH_BYTES:
                    raise InvalidPayload(
                        f"Un registro que empieza cerca del byte {offset} supera el máximo de "
                        f"{MAX_BATCH_BYTES:,} bytes."
                    )
                continue
            cut += len(head)
            yield from _decode_batch(pending + block[:cut], offset)
            batches += 1
            pending, offset = block[cut + 1 :], start + cut + 1
        yield from self._closing(pending, offset, empty_allowed=batches == 0)

    def _opening(self) -> tuple[bytes, int]:
        block = self._content.read(BLOCK_BYTES)
        self._guard.check(block, 0)
        body = block.lstrip(_WHITESPACE)
        # The reader checked that the first byte that is not whitespace is "[".
        return body[1:], len(block) - len(body) + 1

    def _closing(self, pending: bytes, offset: int, *, empty_allowed: bool) -> list[msgspec.Raw]:
        body = pending.rstrip(_WHITESPACE)
        depth = self._guard.state()[0]
        if not body.endswith(b"]") or depth != 0:
            reason = (
                "hay contenido después del final del JSON"
                if depth <= 0
                else "el contenido termina antes de cerrar el JSON (¿archivo truncado?)"
            )
            raise InvalidPayload(
                f"El JSON no es válido cerca del byte {offset + len(body)}: {reason}."
            )
        return _decode_batch(body[:-1], offset, empty_allowed=empty_allowed)


def _decode_batch(batch: bytes, offset: int, *, empty_allowed: bool = False) -> list[msgspec.Raw]:
    """The records in ``batch`` (array elements without the brackets) starting at ``offset``."""
    if not batch.strip(_WHITESPACE):
        if empty_allowed:
            return []
        raise InvalidPayload(
            f"El JSON no es válido cerca del byte {offset}: sobra una coma o falta un registro."
        )
    try:
        return _raw_list.decode(b"[" + batch + b"]")
    except msgspec.DecodeError as exc:
        raise InvalidPayload(_located(str(exc), offset, len(batch))) from None


def _located(message: str, offset: int, size: int) -> str:
    where = re.search(r"\(byte (\d+)\)", message)
    # The batch was wrapped in "[...]": byte 1 of the wrapped text is byte `offset`.
    at = offset + int(where.group(1)) - 1 if where else offset + size
    reason = next(
        (spanish for english, spanish in _MSGSPEC_REASONS.items() if english in message),
        "error de sintaxis",
    )
    return f"El JSON no es válido cerca del byte {at}: {reason}."
