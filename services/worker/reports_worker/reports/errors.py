"""Errors raised while building a report; messages are Spanish because users read them."""

from __future__ import annotations

from collections.abc import Iterable


class ReportError(Exception):
    """Base of every failure of a report build."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidPayload(ReportError):
    """The payload cannot be used at all; the message says why and where."""


class UnknownReportType(ReportError):
    """No report type is registered under the requested name."""

    def __init__(self, name: str, valid: Iterable[str] | None = None) -> None:
        if valid is None:  # imported here: the registry imports this module
            from .registry import load_report_types

            valid = load_report_types()
        names = ", ".join(sorted(valid)) or "(ninguno)"
        super().__init__(f"Tipo de reporte desconocido: {name!r}. Tipos válidos: {names}.")
        self.name = name


class ReportOptionError(ReportError):
    """An option name or value is not accepted by the report type."""


class RecordRejected(Exception):
    """One record cannot be used; the build reports it and goes on (control flow)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
