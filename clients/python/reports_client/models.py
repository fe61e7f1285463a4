"""What the service answers, as typed, read-only objects.

Parsing is lenient on purpose: fields the service adds later are ignored (and kept in
``raw``), and a status this client does not know yet is kept as the string it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    """Status values of a job (``Job.status`` compares equal to these)."""

    QUEUED = "Queued"
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"


#: Statuses after which a job never changes again.
FINAL_STATUSES = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED}
)


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def _seconds(value: Any) -> float | None:
    """A number of seconds (an int or a float, never a bool); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a job has got: share of the dataset read, and records so far."""

    percent: float = 0.0
    records_processed: int = 0
    bytes_processed: int = 0
    total_bytes: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Progress:
        """From the ``progress`` object of a status."""
        data = data or {}
        return cls(
            percent=float(data.get("percent") or 0.0),
            records_processed=int(data.get("recordsProcessed") or 0),
            bytes_processed=int(data.get("bytesProcessed") or 0),
            total_bytes=int(data.get("totalBytes") or 0),
        )


@dataclass(frozen=True, slots=True)
class Job:
    """A job as ``GET /status/{jobId}`` (or one of its live events) shows it."""

    job_id: str
    status: str
    message: str
    created_at: datetime | None
    report_type: str = ""
    user_name: str = ""
    progress: Progress = field(default_factory=Progress)
    queue_position: int | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    file_name: str | None = None
    file_size_bytes: int | None = None
    download_url: str | None = None
    records_processed: int | None = None
    records_rejected: int = 0
    error: str | None = None
    #: How a finished job ended: Completed, Failed, Cancelled or Expired (None while it
    #: runs). ``status`` shows a cancelled or expired job as Failed, as the seed's does.
    outcome: str | None = None
    #: Seconds until the job is expected to be done; None once finished or when the
    #: service has no estimate yet (or predates estimates).
    estimated_seconds_left: float | None = None
    #: Seconds until a queued job is expected to start; None otherwise.
    estimated_start_in: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        """Whether the job will change no more (Completed, Failed, Cancelled, Expired)."""
        return self.status in FINAL_STATUSES

    @property
    def percent(self) -> float:
        """Share of the dataset processed, 0 to 100."""
        return 100.0 if self.status == JobStatus.COMPLETED else self.progress.percent

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        """From the JSON of a status (or an event, or an entry of the active jobs)."""
        metrics = data.get("performanceMetrics") or {}
        return cls(
            job_id=str(data["jobId"]),
            status=str(data.get("status") or ""),
            message=str(data.get("message") or ""),
            created_at=_time(data.get("createdAt")),
            report_type=str(data.get("reportType") or ""),
            user_name=str(data.get("userName") or ""),
            progress=Progress.from_json(data.get("progress")),
            queue_position=_int(data.get("queuePosition")),
            completed_at=_time(data.get("completedAt")),
            expires_at=_time(data.get("expiresAt")),
            file_name=data.get("fileName"),
            file_size_bytes=_int(data.get("fileSizeBytes")),
            download_url=data.get("downloadUrl"),
            records_processed=_int(metrics.get("recordsProcessed")),
            records_rejected=int(data.get("recordsRejected") or 0),
            error=data.get("error"),
            outcome=_outcome(data),
            estimated_seconds_left=_seconds(data.get("estimatedSecondsLeft")),
            estimated_start_in=_seconds(data.get("estimatedStartIn")),
            raw=dict(data),
        )


def _outcome(data: Mapping[str, Any]) -> str | None:
    """The ``outcome`` field; a service from before it said Cancelled or Expired in
    ``status`` itself, and Completed or Failed meant the same as the outcome."""
    if data.get("outcome"):
        return str(data["outcome"])
    status = str(data.get("status") or "")
    return status if status in FINAL_STATUSES else None


@dataclass(frozen=True, slots=True)
class Submission:
    """The answer to a submitted dataset: the job id and where to follow it."""

    job_id: str
    status: str
    message: str
    created_at: datetime | None
    status_url: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Submission:
        """From the 202 answer's JSON."""
        return cls(
            job_id=str(data["jobId"]),
            status=str(data.get("status") or ""),
            message=str(data.get("message") or ""),
            created_at=_time(data.get("createdAt")),
            status_url=str(data.get("statusUrl") or ""),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class ReportType:
    """A report type the service builds."""

    name: str
    description: str
