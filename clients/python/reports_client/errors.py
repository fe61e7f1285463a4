"""Every error the client raises, under one base class.

Messages are in Spanish, like the service's own: they are shown to the people who asked for
the report. The service's problem details (RFC 9457) are kept whole on ``ApiError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Job


class ReportsClientError(Exception):
    """Base of every error of this client."""


class ServiceUnavailable(ReportsClientError):
    """The service could not be reached, or said it is unavailable, even after retrying."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidAddress(ReportsClientError, ValueError):
    """The service's address cannot be used: no http:// or https://, no host, a bad port."""


class NotAReportsService(ServiceUnavailable):
    """Something answers at the address, but not an Async Reports service (a wrong path,
    another server): a job it does not know about is not evidence the job does not exist."""


class ApiError(ReportsClientError):
    """The service answered with an error; ``problem`` holds its problem details."""

    def __init__(self, status: int, problem: Mapping[str, Any] | None = None) -> None:
        self.status = status
        self.problem: dict[str, Any] = dict(problem or {})
        self.title: str = str(self.problem.get("title") or "")
        self.detail: str = str(self.problem.get("detail") or self.title or f"Error HTTP {status}")
        super().__init__(self.detail)


class SubmissionRejected(ApiError):
    """The service refused a dataset: a missing field, an unknown report type, too large..."""


class JobNotFound(ApiError):
    """No job with that id, or no download behind that link."""


class JobExpired(ReportsClientError):
    """The job's report expired and was deleted: submit the dataset again."""


class JobNotReady(ReportsClientError):
    """The job has no report to download yet."""


class JobFailed(ReportsClientError):
    """The job ended without a report; ``job`` is its last status."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.message = job.error or job.message or f"El trabajo terminó en estado {job.status}."
        super().__init__(self.message)


class JobCancelled(JobFailed):
    """The job was cancelled before it ended; ``job`` is its last status."""


class JobFinished(ApiError):
    """The job already ended (Completed or Failed): there is nothing to cancel."""


class WaitTimeout(ReportsClientError):
    """The job did not finish within the time given; ``job`` is its last status."""

    def __init__(self, job: Job, seconds: float) -> None:
        self.job = job
        super().__init__(
            f"El trabajo {job.job_id} no terminó en {seconds:g} s (estado: {job.status})."
        )


class DownloadFailed(ReportsClientError):
    """The report could not be downloaded whole, even after resuming."""
