"""Api settings, read from the environment."""

from __future__ import annotations

import os

from reports_shared.settings import CommonSettings, load_settings

MIB = 1024 * 1024


class ApiSettings(CommonSettings, frozen=True, kw_only=True):
    """Everything the api needs to know."""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    #: Storage's timeouts are shorter in the api than in the worker (which retries jobs): a
    #: request of a client is answered 503 with Retry-After within seconds when storage
    #: does not answer, rather than held for minutes; the client tries again.
    s3_read_timeout_seconds: float = 10.0
    s3_retries: int = 0
    #: uvicorn worker processes; 0: one per CPU the api may run on (its affinity). One by
    #: default: /metrics is per process (a scrape sees one process's counters) and the
    #: in-flight budgets are shared out among the processes.
    api_workers: int = 1
    #: Key of the download tokens (HMAC); the same on every api replica. Required.
    token_secret: str
    #: Largest multipart upload (the dataset file).
    max_upload_bytes: int = 500 * MIB
    #: Largest queue-json body.
    max_json_bytes: int = 100 * MIB
    #: Memory that queue-json bodies may hold at once; past it, 503 with Retry-After.
    max_inflight_json_bytes: int = 768 * MIB
    #: Uploads streaming to storage at once; past it, 503 with Retry-After.
    max_concurrent_uploads: int = 16
    #: Store uploaded datasets gzip-compressed (one already gzip is stored as sent).
    compress_payloads: bool = True
    #: A payload at least this large goes to the large lane even if not flagged.
    large_dataset_bytes: int = 50 * MIB
    #: Most records the synchronous endpoint accepts.
    sync_max_records: int = 10_000
    #: How long the synchronous endpoint waits for its report before answering 202.
    sync_timeout_seconds: float = 120.0
    #: Longest accepted userName.
    max_user_name_length: int = 256
    #: API keys as ``role:name:key`` items, comma-separated; empty: the api is open.
    api_keys: str = ""
    #: Submissions a client may make per minute (all replicas together); 0: no limit.
    submissions_per_minute: int = 120
    #: Origins allowed by CORS, comma-separated; empty: CORS closed.
    cors_origins: str = ""
    #: How long an unfinished tus upload (POST /uploads) may wait for its next bytes; each
    #: PATCH starts the time again (Upload-Expires says until when).
    tus_expiry_seconds: int = 24 * 3600
    #: How long a tus PATCH holds its upload against any other (renewed every quarter of it
    #: while its bytes keep coming): how long the upload waits after the api taking it died.
    tus_lock_seconds: int = 60
    #: Default completion webhook of an API key name, as ``name=url`` items separated by
    #: commas (a comma inside a URL is written %2C); a submission's callbackUrl wins.
    webhook_defaults: str = ""

    @property
    def server_processes(self) -> int:
        """The uvicorn worker processes to run: AR_API_WORKERS, or one per usable CPU."""
        if self.api_workers > 0:
            return self.api_workers
        affinity = getattr(os, "sched_getaffinity", None)  # Linux only
        return len(affinity(0)) if affinity else os.cpu_count() or 1

    @property
    def json_budget_per_process(self) -> int:
        """Each server process's share of ``max_inflight_json_bytes``, never less than what
        one body of ``max_json_bytes`` takes (else, past 2 processes, such a body would be
        refused as busy for ever)."""
        share = self.max_inflight_json_bytes // self.server_processes
        return max(share, JSON_COST_PER_BYTE * self.max_json_bytes)


#: Memory a JSON submission takes per byte of its body: the body, the decoded string and
#: the payload.
JSON_COST_PER_BYTE = 3


def load() -> ApiSettings:
    """Settings from the environment."""
    return load_settings(ApiSettings)
