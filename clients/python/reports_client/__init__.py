"""Python client of the Async Reports service, and the ``async-reports`` command."""

from __future__ import annotations

from .client import DEFAULT_URL, ReportsClient
from .errors import (
    ApiError,
    DownloadFailed,
    InvalidAddress,
    JobCancelled,
    JobExpired,
    JobFailed,
    JobFinished,
    JobNotFound,
    JobNotReady,
    NotAReportsService,
    ReportsClientError,
    ServiceUnavailable,
    SubmissionRejected,
    WaitTimeout,
)
from .history import JobPage
from .models import FINAL_STATUSES, Job, JobStatus, Progress, ReportType, Submission
from .tus import UploadNotice
from .version import __version__
from .webhooks import InvalidWebhook, WebhookEvent, WebhookStatus, verify_webhook

__all__ = [
    "DEFAULT_URL",
    "FINAL_STATUSES",
    "ApiError",
    "DownloadFailed",
    "InvalidAddress",
    "InvalidWebhook",
    "Job",
    "JobCancelled",
    "JobExpired",
    "JobFailed",
    "JobFinished",
    "JobNotFound",
    "JobNotReady",
    "JobPage",
    "JobStatus",
    "NotAReportsService",
    "Progress",
    "ReportType",
    "ReportsClient",
    "ReportsClientError",
    "ServiceUnavailable",
    "Submission",
    "SubmissionRejected",
    "UploadNotice",
    "WaitTimeout",
    "WebhookEvent",
    "WebhookStatus",
    "__version__",
    "verify_webhook",
]
