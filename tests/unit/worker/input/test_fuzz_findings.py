"""What the property test (test_fuzz_payloads.py) found, each pinned by a focused test."""

from __future__ import annotations

import pytest

from reports_shared.errors import InvalidPayload
from tests.support.builds import Builder
from tests.support.data import as_json, invoice

#: UTF-8's encoding of a lone surrogate (U+D800): yajl lets it through, Python does not.
SURROGATE = b"\xed\xa0\x80"
GOOD = as_json([invoice("F-1")])


@pytest.mark.parametrize(
    "data",
    [
        b'{"' + SURROGATE + b'": 1, "facturas": ' + GOOD + b"}",
        b'{"facturas": ' + GOOD + b', "' + SURROGATE + b'": 1}',
        b'{"' + SURROGATE + b'": 1}\n{"a": 1}\n',
    ],
    ids=["key-before-the-array", "key-after-the-array", "first-ndjson-line"],
)
def test_a_lone_surrogate_in_a_key_is_refused_as_invalid_utf8(build: Builder, data: bytes) -> None:
    # Given a payload whose object key holds the UTF-8 bytes of a lone surrogate
    # When the report is built, then the job fails saying the bytes are not UTF-8
    with pytest.raises(InvalidPayload, match="UTF-8"):
        build(data)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (GOOD.replace(b'"2024-01-15"', b'"\xc32024-01-15"'), "registro 1"),
        (GOOD.replace(b'"notes": "opcional"', b'"extra": "\xff"'), "registro 1"),
        (
            GOOD[1:-1] + b"\n" + GOOD[1:-1].replace(b'"notes"', b'"extra": "\xc3", "notes"'),
            "línea 2",
        ),
    ],
    ids=["in-a-field-failing-validation", "in-an-ignored-field", "in-an-ndjson-line"],
)
def test_invalid_utf8_in_a_string_msgspec_skips_fails_the_job(
    build: Builder, data: bytes, where: str
) -> None:
    # Given a record whose invalid UTF-8 sits where the schema never reads it as text
    # When the report is built, then the job fails naming the record, as elsewhere
    with pytest.raises(InvalidPayload, match=f"{where} contiene bytes que no son UTF-8"):
        build(data)


@pytest.mark.parametrize(
    "tail",
    [b'{"invoiceNumber": "", "items": [{"quantity": 1, "', b'{"invoiceNumber": 5 oops'],
    ids=["truncated-after-a-bad-field", "garbage-after-a-bad-field"],
)
def test_an_ndjson_line_that_is_not_json_fails_even_after_a_field_that_misfits(
    build: Builder, tail: bytes
) -> None:
    # Given NDJSON whose last line breaks off (or turns to garbage) after a field that does
    # not fit the schema: msgspec stops at that field and never sees the syntax error
    data = GOOD[1:-1] + b"\n" + GOOD[1:-1] + b"\n" + tail
    # When the report is built, then the job fails: the payload is not valid JSON there
    with pytest.raises(
        InvalidPayload, match=r"El JSON no es válido cerca del byte \d+: la línea 3"
    ):
        build(data)


def test_an_ndjson_line_with_a_number_past_a_doubles_range_is_a_rejected_record(
    build: Builder,
) -> None:
    # Given NDJSON whose second invoice has an amount written as 1e400 (JSON, but past a
    # double's range) in a place the schema refuses anyway
    line = GOOD[1:-1]
    bad = line.replace(b'"unitPrice": 12.5', b'"unitPrice": [1e400]')
    assert bad != line
    # When the report is built, then that invoice is rejected and the job goes on
    built = build(line + b"\n" + bad + b"\n")
    assert (built.outcome.records_processed, built.outcome.records_rejected) == (1, 1)


def _line(**item_fields: object) -> bytes:
    record = invoice("F-1")
    record["items"][0].update(item_fields)
    return as_json([record])[1:-1]


def test_a_number_past_a_doubles_range_on_the_first_ndjson_line_is_still_ndjson(
    build: Builder,
) -> None:
    # Given NDJSON whose first line holds 1e400 in a field the schema ignores
    data = _line().replace(b'"sku"', b'"extra": 1e400, "sku"') + b"\n" + _line() + b"\n"
    # When the report is built, then both lines are invoices
    assert build(data).outcome.records_processed == 2


def test_a_number_past_a_doubles_range_in_a_rejected_ndjson_line_is_a_rejection(
    build: Builder,
) -> None:
    # Given NDJSON whose second line misfits (a numeric description) and holds 1e400
    data = _line() + b"\n" + _line().replace(b'"Papel bond A4"', b"1e400") + b"\n"
    # When the report is built, then that line is rejected, not called invalid JSON
    built = build(data)
    assert (built.outcome.records_processed, built.outcome.records_rejected) == (1, 1)


def test_an_ndjson_record_that_is_not_an_object_is_rejected_not_the_payload(
    build: Builder,
) -> None:
    # Given NDJSON whose second line is null (an object on the first line, JSON on each)
    data = _line() + b"\nnull\n" + _line() + b"\n"
    # When the report is built, then the null is a rejected record and the rest is read
    built = build(data)
    assert (built.outcome.records_processed, built.outcome.records_rejected) == (2, 1)
