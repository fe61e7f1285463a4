"""The dataset generator: deterministic, in every shape, and valid for FacturacionMasiva."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

from devstack.datasets import write_invoices
from tests.support.builds import Builder


def _bytes(count: int, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    write_invoices(out, count, **kwargs)
    return out.getvalue()


def test_same_seed_gives_the_same_bytes() -> None:
    assert _bytes(50, seed=7) == _bytes(50, seed=7)
    assert _bytes(50, seed=7) != _bytes(50, seed=8)


def test_array_has_the_requested_number_of_invoices() -> None:
    records = json.loads(_bytes(123))
    assert len(records) == 123
    assert all(1 <= len(record["items"]) <= 5 for record in records)


def test_ndjson_and_gzip_hold_the_same_invoices() -> None:
    plain = json.loads(_bytes(20))
    lines = _bytes(20, ndjson=True).decode().splitlines()
    assert [json.loads(line) for line in lines] == plain
    assert json.loads(gzip.decompress(_bytes(20, gzip=True))) == plain


def test_generated_invoices_build_and_invalid_ones_are_rejected(build: Builder) -> None:
    built = build(_bytes(200, invalid_every=10))
    assert (built.outcome.records_processed, built.outcome.records_rejected) == (180, 20)
