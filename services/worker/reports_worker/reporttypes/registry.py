"""Report types, found through the entry point group ``async_reports.report_types``, and
built by name."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from reports_shared.errors import UnknownReportType

from ..building.pipeline import DEFAULT_MAX_INPUT_BYTES, BuildOutcome, Progress, run_report
from ..input.content import Source
from .reporttype import COMMON_OPTIONS, ReportType

ENTRY_POINT_GROUP = "async_reports.report_types"


@cache
def _discover() -> tuple[tuple[str, type[ReportType]], ...]:
    found: list[tuple[str, type[ReportType]]] = []
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry.load()
        if not (isinstance(loaded, type) and issubclass(loaded, ReportType)):
            raise TypeError(f"entry point {entry.name!r} is not a ReportType: {entry.value}")
        if loaded.name != entry.name:
            raise TypeError(f"entry point {entry.name!r} loads report type {loaded.name!r}")
        found.append((entry.name, loaded))
    return tuple(sorted(found))


#: Report types added by import path (``AR_REPORT_PLUGINS``), beside the entry points.
_plugins: dict[str, type[ReportType]] = {}


def register_plugins(specs: str) -> list[str]:
    """Add report types given as ``module:Class`` (comma-separated); their names.

    For report types deployed as plain modules on the worker's path rather than as an
    installed package with an entry point.
    """
    names = []
    for spec in filter(None, (part.strip() for part in specs.split(","))):
        module_name, _, class_name = spec.partition(":")
        loaded = getattr(importlib.import_module(module_name), class_name)
        if not (isinstance(loaded, type) and issubclass(loaded, ReportType)):
            raise TypeError(f"report plug-in {spec!r} is not a ReportType")
        _plugins[loaded.name] = loaded
        names.append(loaded.name)
    return names


def load_report_types() -> dict[str, type[ReportType]]:
    """Every installed report type by name (loaded once per process)."""
    return {**dict(_discover()), **_plugins}


def report_options() -> dict[str, dict[str, list[str]]]:
    """Every installed report type's options: option to allowed values, the default first
    (what a worker announces, so the api checks a submission before storing anything)."""
    return {
        name: {
            option: list(values)
            for option, values in {**COMMON_OPTIONS, **cls.extra_options}.items()
        }
        for name, cls in load_report_types().items()
    }


def report_type(name: str) -> type[ReportType]:
    """The report type called ``name``; UnknownReportType lists the valid ones."""
    types = load_report_types()
    if name not in types:
        raise UnknownReportType(name, types)
    return types[name]


def build_report(
    report_name: str,
    source: Source,
    dest: Path,
    *,
    job_id: str,
    options: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    generated_at: datetime | None = None,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    processes: int = 1,
) -> BuildOutcome:
    """Build report ``report_name`` from ``source`` into the ZIP file ``dest``."""
    report = report_type(report_name)(options)
    return run_report(
        report,
        source,
        dest,
        job_id=job_id,
        progress=progress,
        generated_at=generated_at,
        max_input_bytes=max_input_bytes,
        processes=processes,
    )
