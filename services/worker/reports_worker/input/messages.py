"""The Spanish messages that say where a payload is not valid JSON, built in one place."""

from __future__ import annotations

import re
from collections.abc import Sequence

from reports_shared.errors import InvalidPayload

#: A key named in a message is cut to this many characters.
_KEY_CHARS = 60


def invalid_json(at: int, reason: str) -> InvalidPayload:
    """``El JSON no es válido cerca del byte <at>: <reason>.`` (``reason`` without a stop)."""
    return InvalidPayload(f"El JSON no es válido cerca del byte {at}: {reason}.")


#: The reason of a payload that stops before its JSON does.
TRUNCATED = "el contenido termina antes de cerrar el JSON (¿archivo truncado?)"
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
_BYTE = re.compile(r"\(byte (\d+)\)")


def array_syntax(message: str, offset: int, size: int) -> InvalidPayload:
    """msgspec's ``message`` on a run of array elements, starting at byte ``offset`` of the
    payload and ``size`` bytes long, decoded wrapped in brackets: where and what, in Spanish."""
    where = _BYTE.search(message)
    # Byte 1 of the wrapped text is byte `offset`.
    at = offset + int(where.group(1)) - 1 if where else offset + size
    reason = next(
        (spanish for english, spanish in _MSGSPEC_REASONS.items() if english in message),
        "error de sintaxis",
    )
    return invalid_json(at, reason)


def several_arrays(keys: Sequence[str]) -> InvalidPayload:
    """An object holds more than one array of records: which would be the report's is unclear."""
    named = ", ".join(f"«{_short(key)}»" for key in keys)
    return InvalidPayload(
        f"El objeto JSON contiene más de una lista ({named}); no se sabe cuál es la de los "
        "registros. Envíe una sola lista por trabajo, o un objeto con una sola clave cuyo "
        "valor sea una lista."
    )


def _short(key: str) -> str:
    return key if len(key) <= _KEY_CHARS else key[: _KEY_CHARS - 1] + "…"
