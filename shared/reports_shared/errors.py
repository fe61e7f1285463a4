"""Errors of the shared clients; third-party errors are wrapped here, at the boundary."""

from __future__ import annotations


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
