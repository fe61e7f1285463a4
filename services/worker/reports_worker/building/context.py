"""What a build hands a report type (:class:`BuildContext`), and what it needs back.

The report types' own interface (``reports_worker.reporttypes.ReportType``) sits above
the build; the build knows a report type only by the shape given here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..formats.csv import CSV_DIALECTS, CsvDialect
from ..formats.zip.archive import ReportFiles
from ..input.decoding import Rejector, Schema
from .rejections import Rejections

#: A record as the build sees it: its 1-based number in the payload, and its value.
Record = tuple[int, Any]


@dataclass(frozen=True, slots=True)
class BuildContext:
    """Everything a report type needs while it builds: where to write, what to tell."""

    job_id: str
    generated_at: datetime
    options: Mapping[str, str]
    files: ReportFiles
    rejections: Rejections

    @property
    def csv_dialect(self) -> CsvDialect:
        """The CSV dialect chosen with the ``csvDialect`` option."""
        return CSV_DIALECTS[self.options["csvDialect"]]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What a report type reports back: usable records, the manifest's totals and notes.

    ``notes`` are sentences (Spanish) about what the files do not show, such as columns
    a workbook could not hold; manifest.json carries them as ``notes`` when there are any.
    """

    records_processed: int
    totals: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


class Report(Schema, Protocol):
    """A configured report type, as the build drives it."""

    @property
    def name(self) -> str:
        """Its name, as clients send it."""

    @property
    def file_stem(self) -> str:
        """Start of the ZIP's file name."""

    @property
    def options(self) -> Mapping[str, str]:
        """Its options, checked and completed with defaults."""

    def build(self, records: Iterator[Record], context: BuildContext) -> BuildResult:
        """Consume every record, write the report's files into ``context.files``."""


@runtime_checkable
class Batched(Report, Protocol):
    """A report type whose records render independently, one batch at a time."""

    def render(self, records: Iterator[Record], rejected: Rejector) -> Any:
        """One batch's part; a record that breaks a rule goes to ``rejected``."""

    def assemble(self, parts: Iterator[Any], context: BuildContext) -> BuildResult:
        """Write every part, in order, into ``context.files``."""
