"""Payloads that cannot be used fail the job with a Spanish message saying where."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest

from reports_shared.errors import InvalidPayload
from tests.support.builds import Builder
from tests.support.data import as_json, invoice


def _error(build: Builder, payload: bytes, **kwargs: object) -> str:
    with pytest.raises(InvalidPayload) as caught:
        build(payload, **kwargs)
    return str(caught.value)


def test_truncated_json_names_the_end_of_the_content(build: Builder) -> None:
    # given an array cut in the middle of the 2nd record
    payload = as_json([invoice("A"), invoice("B")])[:-40]

    # when / then
    assert _error(build, payload) == (
        f"El JSON no es válido cerca del byte {len(payload)}: el contenido termina antes de "
        "cerrar el JSON (¿archivo truncado?)."
    )


def test_syntax_error_points_at_its_byte(build: Builder) -> None:
    # given a stray character at a known offset
    good = as_json([invoice("A")])
    payload = good[:-1] + b", x]"
    offset = payload.rindex(b"x")

    # when
    message = _error(build, payload)

    # then
    assert message == f"El JSON no es válido cerca del byte {offset}: hay un carácter no válido."


def test_syntax_error_far_into_a_pretty_printed_payload_is_located(build: Builder) -> None:
    # given a 300 KB pretty-printed array with a missing comma near its end
    text = json.dumps([invoice(f"F-{n}") for n in range(400)], indent=2).encode()
    cut = text.rindex(b'"F-399"')
    payload = text[:cut] + b'"F-399" "x"' + text[cut + 7 :]

    # when
    message = _error(build, payload)

    # then
    offset = int(message.split("cerca del byte ")[1].split(":")[0])
    assert abs(offset - (cut + 8)) <= 2
    assert "se esperaba ',' o '}'" in message


def test_empty_payload_is_refused(build: Builder) -> None:
    assert _error(build, b"  \n ") == (
        "El contenido está vacío: se esperaba una lista JSON de registros."
    )


def test_empty_array_is_refused(build: Builder) -> None:
    assert _error(build, b"[]") == "La lista de registros está vacía: no hay nada que procesar."


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        (b'"facturas"', "un texto"),
        (b"42", "un número"),
        (b"null", "un literal (true, false o null)"),
    ],
)
def test_wrong_top_level_type_is_refused(build: Builder, payload: bytes, what: str) -> None:
    assert _error(build, payload) == (
        "El JSON debe ser una lista de registros ([...]), un objeto que la contenga o NDJSON "
        f"(un objeto por línea), pero empieza con {what} en el byte 0."
    )


def test_object_without_an_array_is_refused(build: Builder) -> None:
    assert _error(build, b'{"facturas": {"a": 1}}') == (
        "El objeto JSON no contiene ninguna lista de registros (se esperaba, por ejemplo, "
        '{"facturas": [...]}).'
    )


def test_not_json_at_all_is_refused(build: Builder) -> None:
    assert _error(build, b"<html>error</html>") == (
        "El JSON debe ser una lista de registros ([...]), un objeto que la contenga o NDJSON "
        "(un objeto por línea), pero empieza con el carácter '<' en el byte 0."
    )


def test_utf16_payload_is_refused(build: Builder) -> None:
    assert _error(build, "[]".encode("utf-16")) == (
        "El contenido está en UTF-16; debe estar codificado en UTF-8."
    )


@pytest.mark.timeout(30)
def test_deep_nesting_is_refused_without_exhausting_memory(build: Builder) -> None:
    # given 100,000 nested arrays (the parser alone would need tens of GB)
    payload = b"[" * 100_000 + b"]" * 100_000

    # when / then
    assert "más de 200 niveles de anidamiento" in _error(build, payload)


@pytest.mark.timeout(30)
def test_deep_nesting_inside_a_record_is_refused(build: Builder) -> None:
    # given a record whose notes hide 100,000 nested objects
    payload = b'[{"notes": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}]"

    # when / then
    assert "niveles de anidamiento" in _error(build, payload)


def test_brackets_inside_strings_do_not_count_as_nesting(build: Builder) -> None:
    # given descriptions full of brackets and escaped quotes
    text = '[[[[{{ \\" ' * 100
    record = invoice(items=[{"quantity": 1, "unitPrice": 1, "taxRate": 0, "description": text}])

    # when
    built = build([record] * 50)

    # then
    assert built.outcome.records_processed == 50


@pytest.mark.timeout(60)
def test_fifty_megabyte_string_is_refused(build: Builder) -> None:
    # given one 50 MB string inside a record
    payload = b'[{"notes": "' + b"x" * (50 << 20) + b'"}]'

    # when / then
    assert "Hay un texto de más de 8,388,608 bytes" in _error(build, payload)


def test_gzip_bomb_stops_at_the_cap(build: Builder) -> None:
    # given 100 MB of spaces compressed to ~100 KB, and a 1 MB cap
    bomb = gzip.compress(b"[" + b" " * (100 << 20) + b"]", compresslevel=9)

    # when / then
    assert _error(build, bomb, max_input_bytes=1 << 20) == (
        "El contenido supera el tamaño máximo permitido de 1,048,576 bytes una vez descomprimido."
    )


def test_cap_applies_to_plain_payloads_too(build: Builder) -> None:
    payload = as_json([invoice(f"F-{n}") for n in range(100)])
    assert "supera el tamaño máximo permitido de 1,000 bytes." in _error(
        build, payload, max_input_bytes=1000
    )


def test_truncated_gzip_is_refused(build: Builder) -> None:
    packed = gzip.compress(as_json([invoice("A")] * 20))
    assert "El archivo gzip está incompleto" in _error(build, packed[: len(packed) // 2])


def test_corrupt_gzip_is_refused(build: Builder) -> None:
    packed = bytearray(gzip.compress(as_json([invoice("A")] * 20)))
    packed[20:40] = b"\xff" * 20
    message = _error(build, bytes(packed))
    assert message.startswith("El archivo gzip está dañado")


def test_malformed_ndjson_line_names_line_and_byte(build: Builder) -> None:
    # given NDJSON whose 2nd line is cut short
    first = json.dumps(invoice("A")).encode()
    payload = first + b"\n" + b'{"invoiceNumber": "B", "items": [' + b"\n" + first + b"\n"

    # when / then
    assert _error(build, payload).startswith(
        f"El JSON no es válido cerca del byte {len(first) + 1 + 33}: la línea 2"
    )


def test_a_failed_build_leaves_no_file(build: Builder, tmp_path: object) -> None:
    # given a payload that fails late (truncated after many good records)
    payload = as_json([invoice(f"F-{n}") for n in range(2000)])[:-100]

    # when
    with pytest.raises(InvalidPayload):
        build(payload)

    # then neither the ZIP nor temporary files remain
    from pathlib import Path

    assert list(Path(str(tmp_path)).iterdir()) == []


def test_zlib_is_what_gzip_detection_relies_on() -> None:
    # the gzip magic is checked on bytes, so a raw deflate stream is not mistaken for gzip
    assert not zlib.compress(b"[]").startswith(b"\x1f\x8b")
