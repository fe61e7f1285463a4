"""What the api answers: the seed's fields, camelCase, plus what a waiting user wants."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Response

from reports_shared.constants import (
    JobStatus,
    download_url,
    outcome_of,
    public_status,
    status_url,
)
from reports_shared.eta import poll_after
from reports_shared.jobs import JobRecord, PerformanceMetrics

from .estimates import Estimate

#: Seconds a client should wait between polls of a job with no estimate (the seed polls
#: every 5 s).
POLL_AFTER = 2
#: Least and most Retry-After of a job with an estimate (see reports_shared.eta.poll_after).
POLL_BOUNDS = (1, 30)


def retry_after(estimate: Estimate) -> str:
    """The Retry-After of an active job: half its estimated time left, within bounds."""
    return str(poll_after(estimate.seconds_left, POLL_AFTER, POLL_BOUNDS))


class Accepted(msgspec.Struct, rename="camel", kw_only=True):
    """Answer to a submission (202)."""

    job_id: str
    status: JobStatus
    message: str
    created_at: datetime
    status_url: str


class Progress(msgspec.Struct, rename="camel", kw_only=True):
    """How far a job has got."""

    records_processed: int
    bytes_processed: int
    total_bytes: int
    percent: float


class JobStatusView(msgspec.Struct, rename="camel", kw_only=True):
    """GET /status/{jobId}: every field of the seed's example, then ours.

    ``status`` is one of the seed's four (Queued, Processing, Completed, Failed): a
    cancelled or expired job shows as Failed, so the seed's clients, which poll until
    Completed or Failed, stop on it. ``outcome`` says how a finished job ended.
    """

    job_id: str
    status: JobStatus
    message: str
    created_at: datetime
    completed_at: datetime | None
    file_name: str | None
    file_size_bytes: int | None
    download_url: str | None
    performance_metrics: PerformanceMetrics | None
    report_type: str
    user_name: str
    progress: Progress
    queue_position: int | None = None
    records_rejected: int = 0
    error: str | None = None
    started_at: datetime | None = None
    expires_at: datetime | None = None
    from_cache: bool = False
    #: How the job ended: Completed, Failed, Cancelled or Expired; None while it runs.
    outcome: JobStatus | None = None
    #: Seconds until the job is expected to be done (a running job: from its own rate;
    #: a queued one: its wait to start plus its expected duration); None once it is
    #: finished, or while nothing allows an estimate yet.
    estimated_seconds_left: float | None = None
    #: Seconds until a queued job is expected to start; None otherwise.
    estimated_start_in: float | None = None


class GoneJobView(JobStatusView, kw_only=True):
    """GET /status of an expired job (410): the job as it ended, with the problem's
    title and detail beside the seed's fields (``status`` stays the seed's Failed)."""

    title: str
    detail: str


class MissingJobView(msgspec.Struct, rename="camel", kw_only=True):
    """GET /status of a job that does not exist (404), in the seed's shape: a client that
    polls until Completed or Failed stops on it and prints its message."""

    job_id: str
    status: JobStatus = JobStatus.FAILED
    message: str
    title: str
    detail: str


class ActiveJobs(msgspec.Struct, rename="camel", kw_only=True):
    """GET /active-jobs."""

    count: int
    jobs: list[JobStatusView]


class JobHistory(msgspec.Struct, rename="camel", kw_only=True):
    """GET /jobs: a page of the job history, newest first."""

    jobs: list[JobStatusView]
    count: int
    #: Where the next page starts (the ``cursor`` parameter); null after the last page.
    next_cursor: str | None


def job_view(
    record: JobRecord,
    queue_position: int | None = None,
    download_token: str | None = None,
    estimate: Estimate | None = None,
) -> JobStatusView:
    """The public view of a job record (never its storage keys)."""
    estimate = estimate or Estimate()
    completed = record.status == JobStatus.COMPLETED
    return JobStatusView(
        job_id=record.job_id,
        status=public_status(record.status),
        message=record.message,
        created_at=record.created_at,
        completed_at=record.completed_at,
        file_name=record.file_name if completed else None,
        file_size_bytes=record.file_size_bytes if completed else None,
        download_url=download_url(download_token) if completed and download_token else None,
        performance_metrics=record.performance_metrics,
        report_type=record.report_type,
        user_name=record.user_name,
        progress=Progress(
            records_processed=record.records_processed,
            bytes_processed=record.bytes_processed,
            total_bytes=record.payload_bytes,
            percent=record.progress_percent,
        ),
        queue_position=queue_position,
        records_rejected=record.records_rejected,
        error=record.error,
        started_at=record.started_at,
        expires_at=record.expires_at,
        from_cache=record.from_cache,
        outcome=outcome_of(record.status),
        estimated_seconds_left=tenths(estimate.seconds_left),
        estimated_start_in=tenths(estimate.start_in),
    )


def tenths(value: float | None) -> float | None:
    """An estimate to the tenth of a second (more would be false precision)."""
    return None if value is None else round(value, 1)


def accepted(
    record: JobRecord, message: str = "Trabajo en cola", estimate: Estimate | None = None
) -> Response[Accepted]:
    """202 with where to poll (the job may already be Completed, from the cache), and
    when: Retry-After follows the job's estimate, if there is one."""
    url = status_url(record.job_id)
    body = Accepted(
        job_id=record.job_id,
        status=public_status(record.status),
        message=message if record.status == JobStatus.QUEUED else record.message,
        created_at=record.created_at,
        status_url=url,
    )
    return Response(
        body,
        status_code=202,
        headers={"Location": url, "Retry-After": retry_after(estimate or Estimate())},
    )
