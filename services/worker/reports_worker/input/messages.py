"""The Spanish messages that say where a payload is not valid JSON, built in one place."""

from __future__ import annotations

from collections.abc import Sequence

from reports_shared.errors import InvalidPayload

#: A key named in a message is cut to this many characters.
_KEY_CHARS = 60


def invalid_json(at: int, reason: str) -> InvalidPayload:
    """``El JSON no es válido cerca del byte <at>: <reason>.`` (``reason`` without a stop)."""
    return InvalidPayload(f"El JSON no es válido cerca del byte {at}: {reason}.")


#: The reason of a payload that stops before its JSON does.
TRUNCATED = "el contenido termina antes de cerrar el JSON (¿archivo truncado?)"


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
