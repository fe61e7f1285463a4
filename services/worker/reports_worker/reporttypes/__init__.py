"""Report types: the interface a plug-in implements, the registry, and the built-in types.

A plug-in imports what it needs from here only (``from reports_worker.reporttypes import
ReportType, BuildContext, ...``); the worker builds a report by name with
:func:`build_report`. Report types are found through the entry point group
``async_reports.report_types`` (:func:`load_report_types`) or ``AR_REPORT_PLUGINS``.
"""

from __future__ import annotations

from ..building.context import BuildContext, BuildResult, Record
from ..errors import RecordRejected, ReportOptionError
from ..formats.columns import CellKind, Column
from ..formats.csv import CsvFields, CsvTable
from ..formats.xlsx.spreadsheetml import open_workbook
from ..formats.xlsx.workbook import SheetWriter, TableWriter
from ..input.decoding import Rejector
from .registry import (
    build_report,
    load_report_types,
    register_plugins,
    report_options,
    report_type,
)
from .reporttype import BatchedReport, ReportType, SpreadsheetReport

__all__ = [
    "BatchedReport",
    "BuildContext",
    "BuildResult",
    "CellKind",
    "Column",
    "CsvFields",
    "CsvTable",
    "Record",
    "RecordRejected",
    "Rejector",
    "ReportOptionError",
    "ReportType",
    "SheetWriter",
    "SpreadsheetReport",
    "TableWriter",
    "build_report",
    "load_report_types",
    "open_workbook",
    "register_plugins",
    "report_options",
    "report_type",
]
