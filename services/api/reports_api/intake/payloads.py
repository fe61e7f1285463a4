"""Checks datasets sent inline (queue-json, the synchronous endpoint) without building them."""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec

from reports_shared.errors import InvalidPayload

from ..errors import InvalidRequest
from .sniff import HEAD_BYTES, check_head


class JsonSubmission(msgspec.Struct, rename="camel", kw_only=True):
    """Body of queue-json and of the synchronous endpoint (the seed's fields)."""

    report_type: str | None = None
    user_name: str | None = None
    #: A string holding JSON (as in the seed), or the JSON array/object itself.
    json_data: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    is_large_dataset: bool | str | None = False
    options: dict[str, str] | None = None
    #: Where to POST the completion webhook (ours, not the seed's).
    callback_url: str | None = None


#: What a body or dataset nested past what a JSON parser follows is told.
TOO_DEEP = "{what} está anidado demasiado profundo (arreglos u objetos unos dentro de otros)."

_body_decoder = msgspec.json.Decoder(JsonSubmission)
_string_decoder = msgspec.json.Decoder(str)
# Raw elements: the JSON is fully checked but no record is built.
_records_decoder = msgspec.json.Decoder(list[msgspec.Raw] | dict[str, msgspec.Raw])
_list_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_raw_decoder = msgspec.json.Decoder(msgspec.Raw)
#: Something besides JSON's whitespace.
_NOT_BLANK = re.compile(rb"[^ \t\r\n]")
#: msgspec's reasons in Spanish (the byte where it happened follows them).
_REASONS = {
    "trailing characters": "sobran caracteres tras el final del JSON",
    "invalid character": "carácter inválido",
    "invalid escaped character": "secuencia de escape inválida",
    "invalid number": "número inválido",
    "trailing comma in object": "coma sobrante en un objeto",
    "trailing comma in array": "coma sobrante en un arreglo",
}


@dataclass(frozen=True, slots=True)
class InlineDataset:
    """A checked inline dataset: its bytes and how many records it holds."""

    data: bytes
    records: int


def decode_body(body: bytes) -> JsonSubmission:
    """The request body, or 400 saying what is wrong and where."""
    if not body.strip():
        raise InvalidRequest("El cuerpo de la solicitud está vacío.")
    try:
        return _body_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"Cuerpo JSON inválido: {_mistyped(exc)}.") from exc
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"El cuerpo no es JSON válido: {_where(exc, len(body))}.") from exc
    except RecursionError:  # msgspec gives up past ~1,000 levels: hostile, not a dataset
        raise InvalidRequest(TOO_DEEP.format(what="El cuerpo de la solicitud")) from None
    except UnicodeDecodeError:  # a text field not in UTF-8 (Latin-1...): was a 500
        raise InvalidRequest(_not_utf8("El cuerpo", body)) from None


def inline_dataset(raw: msgspec.Raw) -> InlineDataset:
    """Check ``jsonData`` (a JSON string or inline JSON) and count its records."""
    data: bytes = bytes(raw)
    if not data or data == b"null":
        raise InvalidRequest("Falta el campo obligatorio 'jsonData'.")
    if data[:1] == b'"':
        data = _string_decoder.decode(data).lstrip("\ufeff").encode()
        check_head(data[:HEAD_BYTES], "'jsonData'")  # a CSV pasted in: 415 naming it
    else:
        _require_utf8(data)
    if not data.strip():
        raise InvalidPayload("'jsonData' está vacío.")
    lines = ndjson_records(data)
    if lines is not None:
        return InlineDataset(data, lines)
    try:
        parsed = _records_decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise InvalidPayload(
            "'jsonData' debe ser un arreglo de registros o un objeto que contenga uno."
        ) from exc
    except msgspec.DecodeError as exc:
        raise InvalidPayload(f"'jsonData' no es JSON válido: {_where(exc, len(data))}.") from exc
    except RecursionError:
        raise InvalidPayload(TOO_DEEP.format(what="'jsonData'")) from None
    records = _count_records(parsed)
    if records == 0:  # the build would fail on it: refused before anything is stored
        raise InvalidPayload("La lista de registros está vacía: no hay nada que procesar.")
    return InlineDataset(data, records)


def _require_utf8(data: bytes) -> None:
    """400 unless inline ``jsonData`` is UTF-8: msgspec keeps its bytes as they came, and a
    body in Latin-1 was accepted, then failed in the worker."""
    try:
        data.decode()
    except UnicodeDecodeError:
        raise InvalidPayload(_not_utf8("'jsonData'", data)) from None


def _not_utf8(what: str, data: bytes) -> str:
    """Where ``data`` stops being UTF-8, as a message."""
    try:
        data.decode()
    except UnicodeDecodeError as exc:
        where = f" (byte {exc.start + 1:,})"
    else:
        where = ""
    return f"{what} no es texto UTF-8{where}: envíe el JSON codificado en UTF-8."


def ndjson_records(data: bytes) -> int | None:
    """How many records NDJSON holds (its lines that are not blank), each line checked as
    JSON; None when ``data`` is not NDJSON. As the worker tells it: a first line that is a
    whole object, followed by more than whitespace (no single JSON document goes on after
    its top-level object). A later line that is JSON but not an object is the worker's to
    reject as a record, as in an array."""
    first = _NOT_BLANK.search(data)
    if first is None or data[first.start() : first.start() + 1] != b"{":
        return None
    end = data.find(b"\n", first.start())
    if end < 0 or _NOT_BLANK.search(data, end) is None:
        return None
    view = memoryview(data)
    try:
        _raw_decoder.decode(view[first.start() : end])
    except (msgspec.DecodeError, RecursionError):
        return None
    records, number, start = 0, 0, 0
    while start <= len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        number += 1
        if _NOT_BLANK.search(data, start, end):
            try:
                _raw_decoder.decode(view[start:end])
            except msgspec.DecodeError as exc:
                raise InvalidPayload(
                    f"'jsonData' es NDJSON y su línea {number} no es JSON válido: "
                    f"{_where(exc, end - start)}."
                ) from exc
            except RecursionError:
                raise InvalidPayload(
                    TOO_DEEP.format(what=f"La línea {number} de 'jsonData'")
                ) from None
            records += 1
        start = end + 1
    return records


#: JSON's types as the api's messages name them.
_TYPES = {"str": "un texto", "int": "un número", "float": "un número", "bool": "un booleano",
          "null": "null", "object": "un objeto", "array": "un arreglo"}  # fmt: skip
_EXPECTED = re.compile(r"Expected `([^`]+)`, got `([^`]+)`(?: - at `\$\.?([^`]*)`)?")


def _mistyped(exc: msgspec.ValidationError) -> str:
    """msgspec's 'Expected `str | null`, got `int` - at `$.userName`' in Spanish."""
    found = _EXPECTED.fullmatch(str(exc))
    if found is None:
        return "un campo no tiene el tipo esperado"
    expected, got, where = found.groups()
    wanted = " o ".join(_TYPES.get(name, name) for name in expected.split(" | "))
    place = f"'{where}'" if where else "el cuerpo"
    return f"{place} debe ser {wanted}, no {_TYPES.get(got, got)}"


def _where(exc: msgspec.DecodeError, size: int) -> str:
    """msgspec's reason in Spanish, with the byte where the JSON breaks."""
    text = str(exc)
    if "truncated" in text:
        return f"el JSON está incompleto, termina en el byte {size}"
    reason, _, byte = text.removeprefix("JSON is malformed: ").partition(" (byte ")
    if reason.startswith("expected "):
        spanish = "se esperaba " + reason.removeprefix("expected ").replace(" or ", " o ")
    else:
        spanish = _REASONS.get(reason, "JSON mal formado")
    return f"{spanish} (byte {byte}" if byte else spanish


def _count_records(parsed: list[msgspec.Raw] | dict[str, msgspec.Raw]) -> int:
    if isinstance(parsed, list):
        return len(parsed)
    for value in parsed.values():
        if bytes(value).lstrip()[:1] == b"[":
            return len(_list_decoder.decode(value))
    raise InvalidPayload("'jsonData' es un objeto que no contiene ningún arreglo de registros.")
