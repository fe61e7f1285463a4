"""The Spanish messages that say where a payload is not valid JSON, built in one place."""

from __future__ import annotations

from reports_shared.errors import InvalidPayload


def invalid_json(at: int, reason: str) -> InvalidPayload:
    """``El JSON no es válido cerca del byte <at>: <reason>.`` (``reason`` without a stop)."""
    return InvalidPayload(f"El JSON no es válido cerca del byte {at}: {reason}.")


#: The reason of a payload that stops before its JSON does.
TRUNCATED = "el contenido termina antes de cerrar el JSON (¿archivo truncado?)"
