"""Errors of the shared clients; third-party errors are wrapped here, at the boundary."""

from __future__ import annotations

from collections.abc import Iterable


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
