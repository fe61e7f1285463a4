"""What a finished build teaches the status's estimates: its size, its time, its reading."""

from __future__ import annotations

import structlog

from reports_shared.eta import Reading, RunSample
from reports_shared.jobs import JobRecord

from .services import Services

log = structlog.get_logger(__name__)


def run_sample(
    payload_bytes: int,
    seconds: float,
    first: tuple[int, float] | None,
    last: tuple[int, float] | None,
    started: float,
) -> RunSample:
    """The sample of a build that took ``seconds`` from ``started``, with its first and last
    progress figures (payload bytes done, monotonic time): its set-up lasts until the first, and
    its reading is taken to end where its rate between them ends it (the last figure may
    come before the last byte)."""
    if first is None or last is None:
        return RunSample(payload_bytes, seconds, seconds)
    setup = min(seconds, max(0.0, first[1] - started))
    reading = Reading(first[0], first[1] - started, last[0], last[1] - started)
    reading_seconds = reading.seconds(payload_bytes)
    if reading_seconds is None:
        return RunSample(payload_bytes, seconds, seconds, setup)
    return RunSample(payload_bytes, seconds, min(seconds, reading_seconds), setup)


def remember_run(services: Services, record: JobRecord, sample: RunSample) -> None:
    """Add the sample to the job's lane, with the caps; best effort (an estimate is not
    worth failing a published job)."""
    settings = services.settings
    slots = {"jobs": settings.max_concurrent_jobs, "large": settings.large_lane_limit}
    try:
        services.jobs.add_run_sample(record.lane, sample, slots)
    except Exception as exc:
        log.warning("run_sample_not_recorded", job_id=record.job_id, error=str(exc))
