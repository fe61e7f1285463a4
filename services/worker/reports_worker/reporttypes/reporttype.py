"""The interface every report type implements (what a build hands it: ``..building.context``).

A report type is one module with one subclass of :class:`ReportType`, registered as an
entry point in the group ``async_reports.report_types``; nothing else changes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any, ClassVar

from ..building.context import BuildContext, BuildResult, Record
from ..errors import ReportOptionError
from ..formats.csv import CSV_DIALECTS, DEFAULT_DIALECT
from ..formats.xlsx.spreadsheetml import SPREADSHEETML
from ..formats.xlsx.workbook import EXCEL_MAX_ROWS, WorkbookEngine
from ..input.decoding import Rejector

#: Options every report type accepts: name -> allowed values, the default first.
COMMON_OPTIONS: Mapping[str, tuple[str, ...]] = {
    "csvDialect": (DEFAULT_DIALECT, *(name for name in CSV_DIALECTS if name != DEFAULT_DIALECT)),
}


class ReportType(ABC):
    """Turns a stream of records into files; one subclass per report type."""

    #: Name clients send as ``reportType`` (the entry point's name).
    name: ClassVar[str]
    #: One Spanish sentence for humans (api docs, active jobs).
    description: ClassVar[str]
    #: The name people read (the web page's list, "Facturación masiva"); ``name`` if None.
    display_name: ClassVar[str | None] = None
    #: Type each record is decoded into (usually a msgspec Struct).
    record_schema: ClassVar[Any]
    #: A stricter type whose first misfit is a rejected record's reason, when
    #: ``record_schema`` leaves a part as raw JSON for the report type to read itself
    #: (None: ``record_schema``'s own misfit).
    strict_schema: ClassVar[Any] = None
    #: Start of the ZIP's file name, e.g. ``reporte_facturacion``.
    file_stem: ClassVar[str]
    #: Field of a raw record that identifies it in errores.csv (e.g. ``invoiceNumber``).
    reference_field: ClassVar[str | None] = None
    #: Options of this type beyond :data:`COMMON_OPTIONS`: name -> values, default first.
    extra_options: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def __init__(self, options: Mapping[str, str] | None = None) -> None:
        self.options = self.resolve_options(options or {})

    @classmethod
    def resolve_options(cls, options: Mapping[str, str]) -> dict[str, str]:
        """``options`` checked and completed with defaults; ReportOptionError otherwise."""
        allowed = {**COMMON_OPTIONS, **cls.extra_options}
        resolved = {name: values[0] for name, values in allowed.items()}
        for name, value in options.items():
            if name not in allowed:
                raise ReportOptionError(
                    f"Opción desconocida {name!r} para {cls.name}. "
                    f"Opciones válidas: {', '.join(sorted(allowed))}."
                )
            if value not in allowed[name]:
                raise ReportOptionError(
                    f"Valor {value!r} no válido para la opción {name!r}. "
                    f"Valores válidos: {', '.join(allowed[name])}."
                )
            resolved[name] = value
        return resolved

    @abstractmethod
    def build(self, records: Iterator[Record], context: BuildContext) -> BuildResult:
        """Consume every record, write the report's files into ``context.files``.

        A record that breaks a rule is passed to ``context.rejections`` and skipped.
        """


class BatchedReport(ReportType):
    """A report type whose records render independently, one batch at a time.

    :meth:`render` turns a batch of records into a part (text already rendered, partial
    sums), in whichever process the build chooses: it writes no file and keeps no state
    between calls, and its report object, options and part are pickled. :meth:`assemble`
    gets the parts in payload order and writes the files. A build may then render
    batches on several cores at once; the output is the same either way.
    """

    #: Records per batch when :meth:`build` is handed records already decoded.
    BATCH_RECORDS: ClassVar[int] = 1000

    @abstractmethod
    def render(self, records: Iterator[Record], rejected: Rejector) -> Any:
        """One batch's part; a record that breaks a rule goes to ``rejected``."""

    @abstractmethod
    def assemble(self, parts: Iterator[Any], context: BuildContext) -> BuildResult:
        """Write every part, in order, into ``context.files``."""

    def build(self, records: Iterator[Record], context: BuildContext) -> BuildResult:
        """Records already decoded, rendered here in batches."""

        def parts() -> Iterator[Any]:
            while batch := list(islice(records, self.BATCH_RECORDS)):
                yield self.render(iter(batch), context.rejections)

        return self.assemble(parts(), context)


class SpreadsheetReport(ReportType):
    """A report type with a workbook: the sheet row limit and workbook engine are settable
    (tests use a low limit, and an xlsxwriter engine of their own as a reference)."""

    def __init__(
        self,
        options: Mapping[str, str] | None = None,
        *,
        sheet_row_limit: int = EXCEL_MAX_ROWS,
        workbook_engine: WorkbookEngine = SPREADSHEETML,
    ) -> None:
        super().__init__(options)
        self.sheet_row_limit = sheet_row_limit
        self.workbook_engine: WorkbookEngine = workbook_engine
