"""Report builds run into a folder, their ZIP opened for the tests to read."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reports_worker.building.pipeline import BuildOutcome, run_report
from reports_worker.reporttypes import ReportType, build_report
from tests.support.data import as_json

GENERATED_AT = datetime(2026, 1, 15, 10, 5, 30, tzinfo=UTC)
JOB_ID = "0f8e7d6c-5b4a-3210-fedc-ba9876543210"


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


def builder(folder: Path) -> Builder:
    """Runs builds into ``folder``: ``build(payload_bytes_or_records, report=..., ...)``.

    The report is a registered name (``"FacturacionMasiva"`` unless told) or a report type;
    ``generated_at`` and ``job_id`` default to fixed values, so builds are reproducible.
    """
    counter = iter(range(1_000_000))

    def run(
        payload: bytes | list[Any],
        report: str | ReportType = "FacturacionMasiva",
        **kwargs: Any,
    ) -> Built:
        data = payload if isinstance(payload, bytes) else as_json(payload)
        dest = folder / f"out-{next(counter)}.zip"
        kwargs.setdefault("generated_at", GENERATED_AT)
        kwargs.setdefault("job_id", JOB_ID)
        if isinstance(report, str):
            outcome = build_report(report, Source(data), dest, **kwargs)
        else:
            outcome = run_report(report, Source(data), dest, **kwargs)
        return Built(outcome, dest)

    return run
