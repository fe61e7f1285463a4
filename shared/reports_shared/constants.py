"""Every name shared on the wire: queues, actors, keys, objects, statuses.

Services meet only here and in the running systems (RabbitMQ, Redis, S3), so a name that
two services must agree on is defined once, in this module.
"""

from __future__ import annotations

from enum import StrEnum

#: Version of :class:`reports_shared.messages.JobMessage` this code writes.
MESSAGE_VERSION = 1

#: How a gzip file starts: a dataset sent so is stored as it came, and read as gzip.
GZIP_MAGIC = b"\x1f\x8b"

#: Prefix of every HTTP route of the asynchronous API (the seed's public contract).
API_PREFIX = "/api/AsyncReports"


def status_url(job_id: str) -> str:
    """Where to poll a job (a path under the api's address)."""
    return f"{API_PREFIX}/status/{job_id}"


def download_url(token: str) -> str:
    """Where to download a job's ZIP (a path under the api's address)."""
    return f"{API_PREFIX}/download/{token}"


#: Route of the seed's synchronous endpoint for small datasets.
SYNC_ROUTE = "/api/Reports/generate"

#: Dramatiq actor that builds a report; one name, two queues (lanes).
BUILD_ACTOR = "build_report"
#: Dramatiq actor that makes one delivery attempt of a job's completion webhook.
WEBHOOK_ACTOR = "deliver_webhook"


class Lane(StrEnum):
    """Which queue a job waits in: small jobs never wait behind large ones."""

    SMALL = "small"
    LARGE = "large"


class JobStatus(StrEnum):
    """Status values of the seed, plus the terminal states the product needs."""

    QUEUED = "Queued"
    PROCESSING = "Processing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"


ACTIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})
TERMINAL_STATUSES = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED}
)


def public_status(status: JobStatus) -> JobStatus:
    """The status clients are shown: the seed's clients know only Queued, Processing,
    Completed and Failed, and poll until Completed or Failed, so a cancelled or expired
    job is shown as Failed (its ``outcome`` says which)."""
    if status in (JobStatus.CANCELLED, JobStatus.EXPIRED):
        return JobStatus.FAILED
    return status


def outcome_of(status: JobStatus) -> JobStatus | None:
    """How a finished job ended (Completed, Failed, Cancelled or Expired); None while it
    is queued or processing."""
    return status if status in TERMINAL_STATUSES else None


class Names:
    """Queue names, Redis keys and object keys under one namespace.

    The namespace lets several stacks (tests, staging) share one RabbitMQ, Redis and bucket.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    # RabbitMQ
    def queue(self, lane: Lane) -> str:
        """Queue of a lane."""
        return f"{self.namespace}.reports.{lane.value}"

    @property
    def webhook_queue(self) -> str:
        """Queue of webhook delivery attempts (consumed by their own workers, never by the
        report workers: a delivery never waits for, nor holds, a report slot)."""
        return f"{self.namespace}.webhooks"

    # Redis
    def job(self, job_id: str) -> str:
        """Hash holding one job record."""
        return f"{self.namespace}:job:{job_id}"

    def job_events(self, job_id: str) -> str:
        """Pub/sub channel told of every change of a job (its new status as JSON)."""
        return f"{self.job(job_id)}:events"

    @property
    def jobs_by_creation(self) -> str:
        """Sorted set of every job id, scored by creation time (for expiry)."""
        return f"{self.namespace}:jobs:created"

    def jobs_by_owner(self, owner: str) -> str:
        """Sorted set of one API key's job ids, scored by creation time (its job history:
        a client key's listing reads only its own jobs, however many others there are)."""
        return f"{self.namespace}:jobs:owner:{owner}"

    @property
    def jobs_active(self) -> str:
        """Sorted set of queued and processing job ids, scored by creation time."""
        return f"{self.namespace}:jobs:active"

    def jobs_queued(self, lane: Lane) -> str:
        """Sorted set of queued job ids of a lane, scored by creation time (queue position)."""
        return f"{self.namespace}:jobs:queued:{lane.value}"

    @property
    def jobs_expiry(self) -> str:
        """Sorted set of finished job ids, scored by when their results expire."""
        return f"{self.namespace}:jobs:expiry"

    def token(self, token_hash: str) -> str:
        """Download token (by its SHA-256) to job id."""
        return f"{self.namespace}:token:{token_hash}"

    def uploading(self, job_id: str) -> str:
        """Present while the api streams a job's payload in (the janitor leaves it alone)."""
        return f"{self.namespace}:uploading:{job_id}"

    def tus_upload(self, upload_id: str) -> str:
        """State of an unfinished tus upload (expires with it); its tails are under
        ``tus/{upload_id}/`` in storage."""
        return f"{self.namespace}:tus:{upload_id}"

    def idempotency(self, key_hash: str) -> str:
        """Idempotency key (by its SHA-256) to job id."""
        return f"{self.namespace}:idem:{key_hash}"

    @property
    def report_types(self) -> str:
        """Hash of report type name to its description, published by workers."""
        return f"{self.namespace}:report-types"

    @property
    def report_display_names(self) -> str:
        """Hash of report type name to the name people read ("Facturación masiva"),
        published by workers beside :attr:`report_types`."""
        return f"{self.namespace}:report-display-names"

    @property
    def report_options(self) -> str:
        """Hash of report type name to its options (JSON: name to allowed values, the
        default first), published by workers beside :attr:`report_types`."""
        return f"{self.namespace}:report-options"

    @property
    def webhooks_due(self) -> str:
        """Sorted set of job ids whose webhook awaits an attempt, scored by when it is due
        (the outbox: a final status adds its job in the same script that sets it)."""
        return f"{self.namespace}:webhooks:due"

    def eta_samples(self, lane: Lane) -> str:
        """List of a lane's latest finished builds (size, seconds), newest first, that the
        status's estimates learn from (capped and expiring: see reports_shared.eta)."""
        return f"{self.namespace}:eta:samples:{lane.value}"

    @property
    def eta_slots(self) -> str:
        """Hash of the caps the workers run under (``jobs``, ``large``), for the estimates."""
        return f"{self.namespace}:eta:slots"

    def limiter(self, name: str) -> str:
        """Sorted set of leases of a concurrency limiter."""
        return f"{self.namespace}:limiter:{name}"

    def cache_entry(self, key: str) -> str:
        """Hash describing one cached report."""
        return f"{self.namespace}:cache:entry:{key}"

    def cache_inflight(self, key: str) -> str:
        """Job now building the report of a cache key."""
        return f"{self.namespace}:cache:inflight:{key}"

    @property
    def cache_lru(self) -> str:
        """Sorted set of cache keys by last use."""
        return f"{self.namespace}:cache:lru"

    @property
    def cache_created(self) -> str:
        """Sorted set of cache keys by creation."""
        return f"{self.namespace}:cache:created"

    @property
    def cache_stats(self) -> str:
        """Hash of the cache's counters (hits, misses, evictions, expirations, bytes)."""
        return f"{self.namespace}:cache:stats"

    # Object storage
    @staticmethod
    def payload_key(job_id: str) -> str:
        """Object holding a job's uploaded dataset."""
        return f"payloads/{job_id}"

    @staticmethod
    def result_key(job_id: str, file_name: str, run: str = "") -> str:
        """Object holding a job's ZIP; a worker's run writes under a folder of its own, so
        a run that lost the job never overwrites or deletes the ZIP of the run that won."""
        return f"results/{job_id}/{run}/{file_name}" if run else f"results/{job_id}/{file_name}"

    @staticmethod
    def cache_object(key: str) -> str:
        """Object holding a cached ZIP."""
        return f"cache/{key}.zip"
