"""Records decoded into a report's schema, a batch at a time; misfits become Spanish reasons."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import msgspec

from reports_shared.errors import InvalidPayload

from ..errors import RecordRejected
from . import _scan
from .arraysplit import raw_records
from .batches import ArrayBatch, Batch, LineBatch
from .messages import invalid_json

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
_TOO_LONG = re.compile(r"Expected `str` of length <= (?P<max>\d+)")
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_WHERE = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_BYTE = re.compile(r"\(byte (?P<at>\d+)\)")
_T = TypeVar("_T")
#: Syntax only: a number past a double's range is JSON (the schema then rejects the record).
_any_json = msgspec.json.Decoder(msgspec.Raw)


#: Why a record nested past what the decoder follows is rejected.
TOO_DEEP = "El registro está anidado demasiado profundo."


class Schema(Protocol):
    """What decoding needs of a report type: its records' schema and reference field."""

    @property
    def record_schema(self) -> Any:
        """Type each record is decoded into (usually a msgspec Struct)."""

    @property
    def strict_schema(self) -> Any:
        """Type whose first misfit is a rejected record's reason (None: record_schema)."""

    @property
    def reference_field(self) -> str | None:
        """Field of a raw record that identifies it in errores.csv, if any."""


class Rejector(Protocol):
    """Where a batch's rejected records go."""

    def reject(self, position: int, reason: str, reference: object = None) -> None:
        """Record number ``position`` (1-based) is skipped because of ``reason``."""


class RecordDecoder:
    """Turns raw JSON of one record into an instance of ``schema``; a record that misfits is
    rejected for ``strict``'s first misfit, if given (``schema`` leaves parts of it raw)."""

    def __init__(self, schema: Any, strict: Any = None) -> None:
        self._json = msgspec.json.Decoder(schema, float_hook=Decimal)
        self._strict = None if strict is None else msgspec.json.Decoder(strict, float_hook=Decimal)

    def _reason(self, misfit: msgspec.ValidationError, data: Any) -> str:
        if self._strict is not None:
            try:
                self._strict.decode(data)
            except msgspec.ValidationError as exc:  # it misfits there too: the first misfit
                misfit = exc
            except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
                pass
        return spanish_reason(str(misfit))

    def from_raw(self, raw: Any, number: int) -> Any:
        """Raw JSON already checked for syntax as the schema; RecordRejected if it misfits."""
        try:
            return self._json.decode(raw)
        except msgspec.ValidationError as exc:
            raise RecordRejected(self._reason(exc, raw)) from None
        except RecursionError:
            raise RecordRejected(TOO_DEEP) from None
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
            # msgspec stops at the first field that misfits: the rest of the line may not
            # even be JSON (a truncated upload), and that must fail the job, not reject.
            _check_line_syntax(line, number, offset)
            raise RecordRejected(self._reason(exc, line)) from None
        except RecursionError:
            raise RecordRejected(TOO_DEEP) from None
        except msgspec.DecodeError as exc:
            raise _line_error(exc, line, number, offset) from None


def _check_line_syntax(line: bytes, number: int, offset: int) -> None:
    """InvalidPayload if an NDJSON line is not JSON (only on a rejection: it is rare)."""
    try:
        _any_json.decode(line)
    except msgspec.DecodeError as exc:
        raise _line_error(exc, line, number, offset) from None
    except RecursionError:  # deep, but JSON as far as msgspec followed it
        pass


def _line_error(exc: msgspec.DecodeError, line: bytes, number: int, offset: int) -> InvalidPayload:
    """Where and how line ``number`` (at byte ``offset``) is not JSON."""
    truncated = "truncated" in str(exc)
    where = _BYTE.search(str(exc))
    at = offset + (len(line) if truncated or not where else int(where["at"]))
    problem = "está incompleta" if truncated else "tiene un error de sintaxis"
    return invalid_json(at, f"la línea {number} {problem}")


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
    if too_long := _TOO_LONG.match(text):
        return f"{field} admite como máximo {too_long['max']} caracteres."
    if "Invalid decimal" in text:
        return f"{field} no es un número válido."
    if "RFC3339 encoded date" in text:
        return f"{field} no es una fecha válida (formato AAAA-MM-DD)."
    if expected := _EXPECTED.match(text):
        want = " o ".join(_TYPE_NAMES.get(t, t) for t in expected["want"].split(" | "))
        got = _TYPE_NAMES.get(expected["got"] or "", expected["got"] or "otro tipo")
        return f"{field} debe ser {want}, pero es {got}."
    return f"{field} no es válido: {text}."


def reference_of(value: Any, field_name: str | None) -> object:
    """The identifier of a record that did not fit the schema, if it has one."""
    if field_name is None:
        return None
    if not isinstance(value, dict):
        try:
            value = msgspec.json.decode(value)
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
            return None
    found = value.get(field_name) if isinstance(value, dict) else None
    return found if isinstance(found, str | int) else None


@functools.cache
def _decoders(schema: Any, strict: Any) -> tuple[msgspec.json.Decoder[Any], RecordDecoder]:
    whole = msgspec.json.Decoder(list[schema], float_hook=Decimal)
    return whole, RecordDecoder(schema, strict)


def decode_batch(report: Schema, batch: Batch, rejected: Rejector) -> Iterator[tuple[int, Any]]:
    """The batch's records that fit the report's schema, numbered; misfits go to
    ``rejected``, with the reference (``report.reference_field``) read from their JSON."""
    whole, one = _decoders(report.record_schema, report.strict_schema)
    field_name = report.reference_field
    _require_utf8(batch)
    if isinstance(batch, LineBatch):
        for number, (line, line_number, offset) in enumerate(batch.lines, start=batch.first):
            try:
                yield number, one.from_line(line, line_number, offset)
            except RecordRejected as exc:
                rejected.reject(number, exc.reason, reference_of(line, field_name))
        return
    wrapped = b"[" + batch.data + b"]"
    try:  # the common case: every record fits, one call decodes them all
        records = whole.decode(wrapped)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        records = None
    if records is not None:
        yield from enumerate(_counted(batch, records), start=batch.first)
        return
    for number, raw in enumerate(_raw_records(batch), start=batch.first):
        try:
            yield number, one.from_raw(raw, number)
        except RecordRejected as exc:
            rejected.reject(number, exc.reason, reference_of(raw, field_name))


def _raw_records(batch: ArrayBatch) -> list[msgspec.Raw]:
    """The batch's records as raw JSON; InvalidPayload, at its byte, if it is not JSON."""
    return _counted(batch, raw_records(batch.data, batch.offset, empty_allowed=True))


def _counted(batch: ArrayBatch, records: list[_T]) -> list[_T]:
    """``records``, decoded from ``batch``, as many as the splitter counted (it numbers
    every record after them)."""
    if len(records) != batch.count:
        raise RuntimeError(f"batch at {batch.offset}: {len(records)} records, not {batch.count}")
    return records


def _require_utf8(batch: Batch) -> None:
    """InvalidPayload naming the first record with bytes that are not UTF-8.

    msgspec checks only the strings it decodes: not those of a field the schema ignores,
    nor one that fails validation first (an invalid date), so a batch is checked whole.
    A batch that is not JSON says so first, as when the splitter parsed every batch.
    """
    if isinstance(batch, LineBatch):
        for line, line_number, _offset in batch.lines:
            if not _is_utf8(line):
                raise InvalidPayload(
                    f"La línea {line_number} contiene bytes que no son UTF-8 válido."
                )
        return
    if _is_utf8(batch.data):
        return
    for number, raw in enumerate(_raw_records(batch), start=batch.first):
        if not _is_utf8(bytes(raw)):
            raise InvalidPayload(f"El registro {number} contiene bytes que no son UTF-8 válido.")


def _is_utf8(data: bytes) -> bool:
    return _scan.utf8(data)  # as bytes.decode("utf-8") would say, 5-10 times sooner
