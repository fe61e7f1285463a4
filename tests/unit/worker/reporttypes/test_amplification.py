"""A few bytes of input never become megabytes of output (issue 18, defect 3).

FacturacionMasiva refuses, record by record, amounts whose magnitude is beyond sane
bounds (below 1e-20 unless zero, a zero written with more than 20 decimals) and invoice
numbers past 100 characters (repeated on every line of ``facturas_detalle.csv``);
Tabular keeps an extreme number in exponent notation instead of padding it with zeros.
The ZIP's members, uncompressed, stay within a stated factor of the input.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.builds import Builder
from tests.support.data import as_json, invoice, item

#: What a report may cost (docs/integrators/reports.md): its files but errores.csv,
#: uncompressed, this many bytes per input byte, plus a constant for the workbook's fixed
#: parts and the summary; the ZIP, errores.csv deflated in it, ZIP_FACTOR per input byte.
OUTPUT_FACTOR = 12
ZIP_FACTOR = 2
OUTPUT_CONSTANT = 64 << 10


def unpacked_size(path: Path) -> int:
    """Total size of the ZIP's members but errores.csv once extracted."""
    with zipfile.ZipFile(path) as archive:
        return sum(i.file_size for i in archive.infolist() if i.filename != "errores.csv")


def payload_with(field: str, text: str, count: int = 5) -> bytes:
    """``count`` invoices whose only item has ``field`` written as JSON ``text``."""
    records = [invoice(f"F-{n}", items=[item(**{field: 1})]) for n in range(count)]
    data = as_json(records)
    return data.replace(f'"{field}": 1'.encode(), f'"{field}": {text}'.encode())


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("quantity", "1e-999999"),
        ("quantity", "1E-21"),
        ("unitPrice", "0E-999999"),
        ("unitPrice", "3e-400"),
        ("taxRate", "1e-999999"),
        ("discount", "0e-999999"),
    ],
)
def test_an_amount_beyond_twenty_decimals_rejects_its_invoice(
    build: Builder, field: str, text: str
) -> None:
    # Given invoices whose only line has an amount written with an extreme exponent
    payload = payload_with(field, text)
    good = as_json([invoice("OK-1")])
    data = payload[:-1] + b", " + good[1:]
    # When the report is built
    built = build(data)
    # Then each such invoice is rejected with a reason naming the field; the good one stays
    assert built.outcome.records_processed == 1
    assert built.outcome.records_rejected == 5
    reasons = {row["motivo"] for row in built.csv_rows("errores.csv")}
    assert len(reasons) == 1
    reason = reasons.pop()
    assert field in reason
    assert "20 decimales" in reason
    assert unpacked_size(built.path) < OUTPUT_CONSTANT


@pytest.mark.parametrize("text", ["1e-20", "0.00000000000000000001", "0E-20", "1e14", "1.5"])
def test_an_amount_within_bounds_is_kept_as_written(build: Builder, text: str) -> None:
    # Given an item whose unit price is small but within 20 decimal places
    data = payload_with("unitPrice", text, count=1)
    # When the report is built
    built = build(data)
    # Then the invoice is priced and its line shows the price in positional notation
    assert built.outcome.records_rejected == 0
    (line,) = built.csv_rows("facturas_detalle.csv")
    assert len(line["precio_unitario"]) <= 22


def test_fifty_tiny_quantities_do_not_make_a_large_report(build: Builder) -> None:
    # Given the payload: 50 items, each with quantity 1e-999999, and one good invoice
    items = [item(quantity=1, sku=f"S{n}") for n in range(50)]
    bad = as_json([invoice("F-1", items=items)]).replace(b'"quantity": 1', b'"quantity": 1e-999999')
    data = bad[:-1] + b", " + as_json([invoice("OK-1")])[1:]
    # When the report is built
    built = build(data)
    # Then the bad invoice is rejected and the report stays small
    assert built.outcome.records_rejected == 1
    assert unpacked_size(built.path) <= OUTPUT_FACTOR * len(data) + OUTPUT_CONSTANT


def test_a_long_invoice_number_is_not_repeated_on_every_line(build: Builder) -> None:
    # Given an invoice number of 100,000 characters on an invoice of 2,000 short items
    items = [{"quantity": 1, "unitPrice": 0, "taxRate": 0}] * 2000
    data = as_json([invoice("N" * 100_000, items=items), invoice("OK-1")])
    # When the report is built
    built = build(data)
    # Then that invoice is rejected (at most 100 characters), and the report stays small
    assert built.outcome.records_rejected == 1
    (row,) = built.csv_rows("errores.csv")
    assert "100 caracteres" in row["motivo"]
    assert unpacked_size(built.path) <= OUTPUT_FACTOR * len(data) + OUTPUT_CONSTANT


def test_an_invoice_number_of_one_hundred_characters_is_accepted(build: Builder) -> None:
    # Given an invoice number of exactly 100 characters
    data = as_json([invoice("N" * 100)])
    # When the report is built, then it is accepted
    assert build(data).outcome.records_rejected == 0


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("1e-999999", "1E-999999"),
        ("0E-999999", "0E-999999"),
        ("7e+999999", "7E+999999"),
        ("1e-30", "0.000000000000000000000000000001"),
        ("1.5e3", "1500"),
    ],
)
def test_tabular_keeps_an_extreme_number_in_exponent_notation(
    build: Builder, text: str, written: str
) -> None:
    # Given a Tabular record holding a number with an extreme exponent
    data = b'[{"id": 1, "value": ' + text.encode() + b"}]"
    # When the report is built
    built = build(data, report="Tabular")
    # Then datos.csv writes it as given when padding it would cost more than 30 zeros
    (row,) = built.csv_rows("datos.csv")
    assert row["value"] == written
    assert unpacked_size(built.path) < OUTPUT_CONSTANT


MINIMAL: dict[str, Any] = {
    "invoiceNumber": "a",
    "issueDate": "2024-01-01",
    "currency": "PEN",
    "customer": {"taxId": "1", "name": "a"},
    "items": [{"quantity": 1, "unitPrice": 0, "taxRate": 0}],
}


@pytest.mark.parametrize(
    "data",
    [
        json.dumps([MINIMAL] * 3000, separators=(",", ":")).encode(),
        json.dumps([{**MINIMAL, "items": MINIMAL["items"] * 200}] * 20).encode(),
        b"[" + b",".join([b"1"] * 20000) + b"," + json.dumps(MINIMAL).encode() + b"]",
        b"\n".join([json.dumps(MINIMAL).encode()] + [b"{}"] * 20000),
    ],
    ids=["smallest-invoices", "smallest-items", "rejected-numbers", "rejected-objects"],
)
def test_the_smallest_records_stay_within_the_stated_output_factor(
    build: Builder, data: bytes
) -> None:
    # Given a payload of the cheapest records there are, usable or not
    # When the report is built
    built = build(data)
    # Then its files and its ZIP stay within the stated factors of the input
    assert unpacked_size(built.path) <= OUTPUT_FACTOR * len(data) + OUTPUT_CONSTANT
    assert built.path.stat().st_size <= ZIP_FACTOR * len(data) + OUTPUT_CONSTANT
