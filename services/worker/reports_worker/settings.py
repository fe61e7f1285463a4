"""Worker settings, read from the environment."""

from __future__ import annotations

from reports_shared.constants import Lane
from reports_shared.settings import CommonSettings, load_settings
from reports_shared.webhooks import DEFAULT_RETRY_SCHEDULE

__all__ = ["Lane", "WebhookSettings", "WorkerSettings", "load", "load_webhooks"]


class WorkerSettings(CommonSettings, frozen=True, kw_only=True):
    """Everything a worker process needs to know."""

    #: Jobs running at once across every worker process and machine.
    max_concurrent_jobs: int = 2
    #: Large jobs running at once (0: one less than the cap, so a small job always has a slot).
    max_concurrent_large_jobs: int = 0
    worker_processes: int = 1
    #: Threads per process. Two, so that a process running a large job still has a thread
    #: for the small message it prefetched (prefetch is per queue, taken while busy).
    worker_threads: int = 2
    #: Deliveries that ended with the worker dying before a job is declared poison.
    max_deliveries: int = 3
    #: Retries of a message whose handling raised outside a build (a build's own error
    #: fails its job at once; an outage of storage or Redis costs none: the job waits for
    #: it, up to ``dependency_wait_seconds``).
    max_retries: int = 5
    #: How long a job may wait for storage or Redis to come back before it fails saying so.
    dependency_wait_seconds: int = 1_800
    job_time_limit_seconds: int = 7_200
    #: Cap on the JSON bytes read from one payload: plain, or gzip once decompressed (bombs).
    max_decompressed_bytes: int = 2 * 1024 * 1024 * 1024
    #: Where ZIPs are built before upload (default: the system's temp dir).
    work_dir: str = ""
    #: Extra report types as ``module:Class``, comma-separated (beside the entry points).
    report_plugins: str = ""
    #: Processes one build may use (its batches rendered by helpers). 1 (the default): never
    #: any helper; 0: the cores this worker may use divided by the jobs running on this
    #: machine, at most 4, so that a lone job takes every core and a full pool one core per
    #: job. A helper gains a lone job little through the stack for much more memory
    #: (docs/operators/capacity.md), so one process is the default.
    build_processes: int = 1
    #: Port of Dramatiq's Prometheus exposition server; 0: not served.
    worker_metrics_port: int = 0

    @property
    def large_lane_limit(self) -> int:
        """Large jobs allowed at once."""
        if self.max_concurrent_large_jobs > 0:
            return min(self.max_concurrent_large_jobs, self.max_concurrent_jobs)
        return max(1, self.max_concurrent_jobs - 1)


class WebhookSettings(CommonSettings, frozen=True, kw_only=True):
    """What a webhook delivery worker (``python -m reports_worker webhooks``) needs to know."""

    #: The api's AR_TOKEN_SECRET: events are signed with secrets derived from it, and
    #: their download links are tokens of it.
    token_secret: str
    #: The api's public address (https://reports.example.com), before the paths a webhook
    #: event gives; empty: the paths alone.
    public_url: str = ""
    #: Seconds between a webhook's attempts after the first failed one (comma-separated).
    webhook_retry_schedule: str = DEFAULT_RETRY_SCHEDULE
    #: How long one attempt waits for the receiver (to connect, then to answer).
    webhook_timeout_seconds: float = 10.0
    #: Threads of a webhook delivery worker (attempts in flight at once per process).
    webhook_threads: int = 8


def load() -> WorkerSettings:
    """Settings from the environment."""
    return load_settings(WorkerSettings)


def load_webhooks() -> WebhookSettings:
    """A webhook worker's settings from the environment."""
    return load_settings(WebhookSettings)
