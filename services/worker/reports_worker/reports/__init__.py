"""Report types and the build that turns a payload into a report ZIP.

The worker calls :func:`build_report`; report types are plugins found through the entry
point group ``async_reports.report_types`` (:func:`load_report_types`).
"""

from __future__ import annotations

from .building import BuildOutcome, build_report, run_report
from .errors import (
    InvalidPayload,
    RecordRejected,
    ReportError,
    ReportOptionError,
    UnknownReportType,
)
from .registry import load_report_types
from .reporttype import BuildContext, BuildResult, ReportType

__all__ = [
    "BuildContext",
    "BuildOutcome",
    "BuildResult",
    "InvalidPayload",
    "RecordRejected",
    "ReportError",
    "ReportOptionError",
    "ReportType",
    "UnknownReportType",
    "build_report",
    "load_report_types",
    "run_report",
]
