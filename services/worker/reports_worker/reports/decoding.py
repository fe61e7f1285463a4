"""Records decoded into a report's schema; schema errors become Spanish reasons."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec

from .errors import InvalidPayload, RecordRejected

_TYPE_NAMES = {
    "str": "un texto",
    "int": "un número entero",
    "float": "un número",
    "decimal": "un número",
    "bool": "un valor true/false",
    "null": "null",
    "object": "un objeto",
    "array": "una lista",
    "date": "una fecha",
}
_EXPECTED = re.compile(r"Expected `(?P<want>[^`]+)`(?:, got `(?P<got>[^`]+)`)?")
_LENGTH = re.compile(r"Expected `(?P<want>str|array)` of length >= (?P<min>\d+)")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_WHERE = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_BYTE = re.compile(r"\(byte (?P<at>\d+)\)")


class RecordDecoder:
    """Turns raw JSON of one record into an instance of ``schema``."""

    def __init__(self, schema: Any) -> None:
        self._json = msgspec.json.Decoder(schema, float_hook=Decimal)

    def from_raw(self, raw: Any, number: int) -> Any:
        """Raw JSON already checked for syntax as the schema; RecordRejected if it misfits."""
        try:
            return self._json.decode(raw)
        except msgspec.ValidationError as exc:
            raise RecordRejected(spanish_reason(str(exc))) from None
        except RecursionError:
            raise RecordRejected("El registro está anidado demasiado profundo.") from None
        except UnicodeDecodeError:
            raise InvalidPayload(
                f"El registro {number} contiene bytes que no son UTF-8 válido."
            ) from None

    def from_line(self, line: bytes, number: int, offset: int) -> Any:
        """An NDJSON line as the schema; InvalidPayload if the line is not JSON at all."""
        try:
            return self._json.decode(line)
        except UnicodeDecodeError:
            raise InvalidPayload(
                f"La línea {number} contiene bytes que no son UTF-8 válido."
            ) from None
        except msgspec.ValidationError as exc:
            raise RecordRejected(spanish_reason(str(exc))) from None
        except RecursionError:
            raise RecordRejected("El registro está anidado demasiado profundo.") from None
        except msgspec.DecodeError as exc:
            truncated = "truncated" in str(exc)
            where = _BYTE.search(str(exc))
            at = offset + (len(line) if truncated or not where else int(where["at"]))
            problem = "está incompleta" if truncated else "tiene un error de sintaxis"
            raise InvalidPayload(
                f"El JSON no es válido cerca del byte {at}: la línea {number} {problem}."
            ) from None


def spanish_reason(message: str) -> str:
    """A msgspec validation message said in Spanish, naming the field by its JSON path."""
    where = _WHERE.search(message)
    path = where["path"].lstrip(".") if where else ""
    text = message[: where.start()] if where else message
    field = f"«{path}»" if path else "El registro"
    if missing := _MISSING.match(text):
        name = f"{path}.{missing['field']}" if path else missing["field"]
        return f"Falta el campo obligatorio «{name}»."
    if length := _LENGTH.match(text):
        if length["want"] == "str":
            return f"{field} no puede estar vacío."
        return f"{field} debe tener al menos {length['min']} elemento(s)."
    if "Invalid decimal" in text:
        return f"{field} no es un número válido."
    if "RFC3339 encoded date" in text:
        return f"{field} no es una fecha válida (formato AAAA-MM-DD)."
    if expected := _EXPECTED.match(text):
        want = " o ".join(_TYPE_NAMES.get(t, t) for t in expected["want"].split(" | "))
        got = _TYPE_NAMES.get(expected["got"] or "", expected["got"] or "otro tipo")
        return f"{field} debe ser {want}, pero es {got}."
    return f"{field} no es válido: {text}."
