"""Errors of the worker's builds; messages are Spanish because users read them.

What a user sent that cannot be used at all (``InvalidPayload``, ``UnknownReportType``)
is a :class:`reports_shared.errors.InvalidInput`, shared with the api; a failure of the
build itself is a :class:`ReportError`. :class:`RecordRejected` is no failure: it is
control flow (like Dramatiq's ``Retry``), one record skipped and the build going on.
"""

from __future__ import annotations


class ReportError(Exception):
    """Base of every failure of a report build that the user can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ReportOptionError(ReportError):
    """An option name or value is not accepted by the report type."""


class RecordRejected(Exception):
    """One record cannot be used; the build reports it and goes on (control flow)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
