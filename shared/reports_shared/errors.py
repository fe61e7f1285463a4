"""Errors of the shared clients; third-party errors are wrapped here, at the boundary."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class ReportsError(Exception):
    """Base of every error raised by Async Reports code."""


class ConfigurationError(ReportsError):
    """A setting is missing or malformed."""


class StorageUnavailable(ReportsError):
    """The object storage could not be reached or refused the request."""


class ObjectNotFound(ReportsError):
    """The requested object does not exist in storage."""


class JobStoreUnavailable(ReportsError):
    """Redis could not be reached."""


class BrokerUnavailable(ReportsError):
    """RabbitMQ could not be reached or did not confirm a message."""


class InvalidInput(ReportsError):
    """What a user sent cannot be used; ``message`` (Spanish, users read it) says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidPayload(InvalidInput):
    """The dataset cannot be used at all; the message says why and where."""


class UnknownReportType(InvalidInput):
    """No report type is registered under the requested name."""

    def __init__(self, name: str, valid: Iterable[str]) -> None:
        self.name = name
        self.valid = sorted(valid)
        names = ", ".join(self.valid) or "(ninguno)"
        super().__init__(f"El tipo de reporte '{name[:100]}' no existe. Tipos válidos: {names}.")


class TransitionRefused(ReportsError):
    """Control flow, not a failure: the job's status no longer allows the change (or the job
    is gone), so the caller leaves it to whoever moved it on (a cancel, an expiry)."""

    def __init__(self, job_id: str, current: StrEnum | None) -> None:
        # StrEnum, not JobStatus: errors import nothing of this package; it is a JobStatus.
        super().__init__(f"job {job_id} is {current.value if current else 'missing'}")
        self.current = current
