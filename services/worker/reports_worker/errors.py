"""Errors of the worker's builds; messages are Spanish because users read them.

What a user sent that cannot be used at all (``InvalidPayload``, ``UnknownReportType``)
is a :class:`reports_shared.errors.InvalidInput`, shared with the api; a failure of the
build itself is a :class:`ReportError`. :class:`RecordRejected` is no failure: it is
control flow (like Dramatiq's ``Retry``), one record skipped and the build going on.
"""

from __future__ import annotations

from enum import StrEnum

from reports_shared.errors import InvalidInput


class ReportError(InvalidInput):
    """Base of every failure of a report build that the user can act on (its ``message``
    says what to change), beside what the api also refuses before any build."""


class ReportOptionError(ReportError):
    """An option name or value is not accepted by the report type."""


class RecordRejected(Exception):
    """One record cannot be used; the build reports it and goes on (control flow)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunStopped(Exception):
    """Control flow: this run must stop now, since nothing it writes would count.

    ``superseded``: the job is no longer this run's: another run holds it (this one was
    paused or cut off past its lease), or it ended meanwhile (``ended``: its status then,
    e.g. Cancelled); otherwise the run's slot lapsed and the cap is full, so the job
    waits again.
    """

    def __init__(self, superseded: bool, ended: StrEnum | None = None) -> None:
        super().__init__(str(ended) if ended else "superseded" if superseded else "lease lost")
        self.superseded = superseded
        self.ended = ended
