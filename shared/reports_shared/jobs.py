"""The job record: everything the status endpoint shows, as stored in Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from .constants import JobStatus, Lane


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class PerformanceMetrics(msgspec.Struct, rename="camel", kw_only=True):
    """Figures the worker measured for one job (the seed's three, and more)."""

    processing_time_ms: int = 0
    # The seed spells it memoryUsageMB, not camel case's memoryUsageMb.
    memory_usage_mb: float = msgspec.field(default=0.0, name="memoryUsageMB")
    records_processed: int = 0
    queue_wait_ms: int = 0
    input_bytes: int = 0
    records_per_second: float = 0.0


class WebhookAttempt(msgspec.Struct, rename="camel", kw_only=True):
    """One delivery attempt of a job's webhook, as its owner is shown it."""

    attempt: int
    at: datetime
    duration_ms: int
    #: The receiver's HTTP status; None when no answer came (refused, timeout, ...).
    status_code: int | None = None
    #: Why it failed, when it did (never the URL's query or any secret).
    error: str | None = None


#: Delivery attempts a record keeps (the oldest go first).
WEBHOOK_LOG_LIMIT = 20


class JobRecord(msgspec.Struct, rename="camel", kw_only=True):
    """One job, as stored in its Redis hash (one field per attribute)."""

    job_id: str
    status: JobStatus
    message: str
    report_type: str
    user_name: str
    created_at: datetime
    #: The API key name that submitted it (empty when the api runs open).
    owner: str = ""
    lane: Lane = Lane.SMALL
    is_large_dataset: bool = False
    payload_key: str = ""
    payload_bytes: int = 0
    payload_sha256: str = ""
    #: The api stored the payload gzip-compressed (storedpayload.py); ``payload_bytes``
    #: and ``payload_sha256`` are still those of the bytes as uploaded.
    payload_gzip: bool = False
    options: dict[str, str] = msgspec.field(default_factory=dict)
    #: When RabbitMQ confirmed the job's message (unset: the enqueue may have been lost).
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    file_name: str | None = None
    file_size_bytes: int | None = None
    result_key: str | None = None
    records_processed: int = 0
    records_rejected: int = 0
    bytes_processed: int = 0
    #: When the worker's build reached ``bytes_processed`` (the clock of its own rate).
    progress_at: datetime | None = None
    #: The run's first progress figure and when (its rate is measured from there).
    first_bytes_processed: int = 0
    first_progress_at: datetime | None = None
    deliveries: int = 0
    error: str | None = None
    worker: str | None = None
    lease_expires_at: datetime | None = None
    #: The worker's run that holds the job now (its lease id); every write of a run is
    #: fenced by it, so a run that lost the job (paused, cut off) changes nothing.
    run_id: str | None = None
    from_cache: bool = False
    performance_metrics: PerformanceMetrics | None = None
    #: Where to POST the completion webhook ("" : none).
    callback_url: str = ""
    #: The webhook's delivery: "" (none yet), pending, delivered or failed (given up).
    webhook_state: str = ""
    #: The final status the webhook tells (set with ``webhook_state`` when it went pending).
    webhook_event: JobStatus | None = None
    webhook_next_attempt_at: datetime | None = None
    #: The delivery attempts so far, oldest first (the last WEBHOOK_LOG_LIMIT).
    webhook_attempts: list[WebhookAttempt] = msgspec.field(default_factory=list)

    @property
    def progress_percent(self) -> float:
        """Share of the payload read so far, 0 to 100."""
        if self.status == JobStatus.COMPLETED:
            return 100.0
        if self.payload_bytes <= 0:
            return 0.0
        # All bytes read is not done yet: the files are still being written.
        return round(min(99.9, 100.0 * self.bytes_processed / self.payload_bytes), 1)


class JobSummary(msgspec.Struct, rename="camel", kw_only=True):
    """The fields of a record that the job history filters on (read without the rest)."""

    status: JobStatus
    report_type: str
    user_name: str
    owner: str = ""


#: Hash fields of a JobSummary, as stored.
SUMMARY_FIELDS = ("status", "reportType", "userName", "owner")
