"""Every accepted input shape gives the same report: array, wrapped array, NDJSON, gzip, BOM."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.support.builds import Builder
from tests.support.data import as_json, invoice

RECORDS = [invoice("F-1"), invoice("F-2", currency="USD"), invoice("F-3")]
EXPECTED_NUMBERS = ["F-1", "F-2", "F-3"]


def _numbers(build: Builder, payload: bytes) -> list[str]:
    built = build(payload)
    return [row["numero_factura"] for row in built.csv_rows("facturas.csv")]


def _ndjson() -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in RECORDS)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(as_json(RECORDS), id="array"),
        pytest.param(json.dumps(RECORDS, indent=2).encode(), id="pretty-array"),
        pytest.param(json.dumps({"facturas": RECORDS}).encode(), id="object-facturas"),
        pytest.param(json.dumps({"data": RECORDS}).encode(), id="object-data"),
        pytest.param(
            json.dumps(
                {"meta": {"origen": "ERP", "lista": None}, "n": 3, "items": RECORDS}, indent=1
            ).encode(),
            id="object-first-array-key",
        ),
        pytest.param(_ndjson(), id="ndjson"),
        pytest.param(_ndjson().replace(b"\n", b"\r\n") + b"\r\n\r\n", id="ndjson-crlf-blank-lines"),
        pytest.param(gzip.compress(as_json(RECORDS)), id="gzip-array"),
        pytest.param(gzip.compress(_ndjson()), id="gzip-ndjson"),
        pytest.param(b"\xef\xbb\xbf" + as_json(RECORDS), id="bom-array"),
        pytest.param(gzip.compress(b"\xef\xbb\xbf" + _ndjson()), id="gzip-bom-ndjson"),
        pytest.param(
            gzip.compress(as_json(RECORDS)[:50]) + gzip.compress(as_json(RECORDS)[50:]),
            id="gzip-two-members",
        ),
    ],
)
def test_every_shape_gives_the_same_invoices(build: Builder, payload: bytes) -> None:
    # given the same three invoices in some shape / when built / then all three, in order
    assert _numbers(build, payload) == EXPECTED_NUMBERS


def test_ndjson_records_are_numbered_like_array_elements(build: Builder) -> None:
    # given NDJSON whose 2nd record is bad
    lines = [invoice("N-1"), invoice("N-2", currency="???"), invoice("N-3")]
    payload = b"\n".join(json.dumps(record).encode() for record in lines)

    # when
    built = build(payload)

    # then
    assert [(row["registro"], row["referencia"]) for row in built.csv_rows("errores.csv")] == [
        ("2", "N-2")
    ]


def test_progress_reports_records_and_raw_bytes(build: Builder) -> None:
    # given a gzipped payload
    payload = gzip.compress(as_json(RECORDS))
    calls: list[tuple[int, int]] = []

    # when
    build(payload, progress=lambda records, raw: calls.append((records, raw)))

    # then the last call counts every record and every raw (compressed) byte
    assert calls[-1] == (3, len(payload))
