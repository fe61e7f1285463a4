"""What a finished build teaches the status's estimates: its size, its time, its reading."""

from __future__ import annotations

import structlog

from reports_shared.eta import RunSample
from reports_shared.jobs import JobRecord

from .services import Services

log = structlog.get_logger(__name__)


def run_sample(
    payload_bytes: int, seconds: float, bytes_read: int, read_at: float | None
) -> RunSample:
    """The sample of a build that took ``seconds`` and had read ``bytes_read`` at
    ``read_at`` seconds from its start: its reading is taken to end where that rate, kept
    to the last byte, ends it (the last figure may come before the last byte)."""
    if read_at is None or bytes_read <= 0:
        return RunSample(payload_bytes, seconds, seconds)
    reading = read_at * max(1.0, payload_bytes / bytes_read)
    return RunSample(payload_bytes, seconds, min(seconds, reading))


def remember_run(services: Services, record: JobRecord, sample: RunSample) -> None:
    """Add the sample to the job's lane, with the caps; best effort (an estimate is not
    worth failing a published job)."""
    settings = services.settings
    slots = {"jobs": settings.max_concurrent_jobs, "large": settings.large_lane_limit}
    try:
        services.jobs.add_run_sample(record.lane, sample, slots)
    except Exception as exc:
        log.warning("run_sample_not_recorded", job_id=record.job_id, error=str(exc))
