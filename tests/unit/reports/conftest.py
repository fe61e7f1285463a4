"""Helpers for the report tests: payloads built from dicts, builds run into tmp_path."""

from __future__ import annotations

import copy
import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reports_worker.building.pipeline import BuildOutcome, run_report
from reports_worker.reporttypes import ReportType, build_report

GENERATED_AT = datetime(2026, 1, 15, 10, 5, 30, tzinfo=UTC)
JOB_ID = "0f8e7d6c-5b4a-3210-fedc-ba9876543210"

BASE_INVOICE: dict[str, Any] = {
    "invoiceNumber": "F001-00012345",
    "issueDate": "2024-01-15",
    "currency": "PEN",
    "customer": {
        "taxId": "20123456789",
        "name": "Comercial Andina S.A.C.",
        "email": "pagos@andina.pe",
    },
    "items": [
        {
            "sku": "P-100",
            "description": "Papel bond A4",
            "quantity": 3,
            "unitPrice": 12.50,
            "taxRate": 0.18,
            "discount": 0,
        }
    ],
    "notes": "opcional",
}


def invoice(number: str = "F001-00012345", **changes: Any) -> dict[str, Any]:
    """A valid invoice (the contract's example) with top-level fields changed."""
    record = copy.deepcopy(BASE_INVOICE)
    record["invoiceNumber"] = number
    record.update(changes)
    return record


def item(**fields: Any) -> dict[str, Any]:
    """An item with quantity 1, price 10 and no tax unless told otherwise."""
    return {"quantity": 1, "unitPrice": 10, "taxRate": 0, **fields}


def as_json(records: Iterable[Any]) -> bytes:
    """Records as a JSON array; numbers written as given (no float round trip)."""
    return json.dumps(list(records), ensure_ascii=False).encode()


class Source:
    """A non-seekable source, as the worker passes it (only ``read``)."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._stream.read(size)


@dataclass
class Built:
    """A finished build and its ZIP, opened."""

    outcome: BuildOutcome
    path: Path

    @property
    def zip(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(self.path)

    def names(self) -> list[str]:
        return self.zip.namelist()

    def text(self, name: str) -> str:
        return self.zip.read(name).decode("utf-8-sig")

    def csv(self, name: str, delimiter: str = ",") -> list[list[str]]:
        return list(csv.reader(io.StringIO(self.text(name), newline=""), delimiter=delimiter))

    def csv_rows(self, name: str, delimiter: str = ",") -> list[dict[str, str]]:
        rows = self.csv(name, delimiter)
        return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]

    def extract(self, name: str, into: Path) -> Path:
        target = into / name
        target.write_bytes(self.zip.read(name))
        return target


Builder = Callable[..., Built]


@pytest.fixture
def build(tmp_path: Path) -> Builder:
    """Run a build: ``build(payload_bytes_or_records, report="FacturacionMasiva", ...)``."""
    counter = iter(range(1_000_000))

    def run(
        payload: bytes | list[Any],
        report: str | ReportType = "FacturacionMasiva",
        **kwargs: Any,
    ) -> Built:
        data = payload if isinstance(payload, bytes) else as_json(payload)
        dest = tmp_path / f"out-{next(counter)}.zip"
        kwargs.setdefault("generated_at", GENERATED_AT)
        kwargs.setdefault("job_id", JOB_ID)
        if isinstance(report, str):
            outcome = build_report(report, Source(data), dest, **kwargs)
        else:
            outcome = run_report(report, Source(data), dest, **kwargs)
        return Built(outcome, dest)

    return run
