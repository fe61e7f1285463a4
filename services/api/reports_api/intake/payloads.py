"""Checks datasets sent inline (queue-json, the synchronous endpoint) without building them."""

from __future__ import annotations

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
        raise InvalidRequest(f"Cuerpo JSON inválido: {exc}.") from exc
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"El cuerpo no es JSON válido: {exc}.") from exc
    except RecursionError:  # msgspec gives up past ~1,000 levels: hostile, not a dataset
        raise InvalidRequest(TOO_DEEP.format(what="El cuerpo de la solicitud")) from None


def inline_dataset(raw: msgspec.Raw) -> InlineDataset:
    """Check ``jsonData`` (a JSON string or inline JSON) and count its records."""
    data: bytes = bytes(raw)
    if not data or data == b"null":
        raise InvalidRequest("Falta el campo obligatorio 'jsonData'.")
    if data[:1] == b'"':
        data = _string_decoder.decode(data).lstrip("\ufeff").encode()
        check_head(data[:HEAD_BYTES], "'jsonData'")  # a CSV pasted in: 415 naming it
    if not data.strip():
        raise InvalidPayload("'jsonData' está vacío.")
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


def _where(exc: msgspec.DecodeError, size: int) -> str:
    """msgspec's reason, with the byte where the JSON breaks."""
    text = str(exc)
    if "truncated" in text:
        return f"el JSON está incompleto, termina en el byte {size}"
    return text.replace("JSON is malformed: ", "").replace("invalid character", "carácter inválido")


def _count_records(parsed: list[msgspec.Raw] | dict[str, msgspec.Raw]) -> int:
    if isinstance(parsed, list):
        return len(parsed)
    for value in parsed.values():
        if bytes(value).lstrip()[:1] == b"[":
            return len(_list_decoder.decode(value))
    raise InvalidPayload("'jsonData' es un objeto que no contiene ningún arreglo de registros.")
