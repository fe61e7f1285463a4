"""Finding a job the caller may see, and its download token."""

from __future__ import annotations

from reports_shared.constants import JobStatus
from reports_shared.jobs import JobRecord, utcnow

from ..access.keys import Principal, check_visible
from ..errors import JobGone, JobNotFound
from ..state import Services
from .estimates import Estimate
from .views import JobStatusView


async def read_job(services: Services, job_id: str) -> JobRecord | None:
    """A job's record, None if unknown (an id over 64 characters is none): one Redis read,
    decoded only when the hash differs from the one this process decoded last."""
    if len(job_id) > 64:
        return None
    return services.status_views.record(job_id, await services.jobs.get_stored(job_id))


async def find_job(services: Services, job_id: str, principal: Principal) -> JobRecord:
    """A job the caller may see: 404 if unknown or another client's, 410 if expired."""
    record = await read_job(services, job_id)
    if record is None:
        raise JobNotFound(f"No existe un trabajo con id '{job_id[:64]}'.")
    check_visible(principal, record)
    check_live(record)
    return record


async def find_visible(services: Services, job_id: str, principal: Principal) -> JobRecord | None:
    """The job if the caller may see it; None when it is unknown or another client's alike."""
    record = await read_job(services, job_id)
    return record if record is not None and principal.may_see(record) else None


def check_live(record: JobRecord) -> None:
    """410 once the job expired."""
    if record.status == JobStatus.EXPIRED:
        raise JobGone("El trabajo y su reporte expiraron y fueron eliminados.")


async def queue_position(services: Services, record: JobRecord) -> int | None:
    """A queued job's 1-based place in its lane (None for any other job): from the
    estimates' board, read at most a second ago, when it holds the job; else from Redis."""
    if record.status != JobStatus.QUEUED:
        return None
    position = await services.estimates.queue_position(record.job_id)
    if position is None:
        position = await services.jobs.queue_position(record.job_id, record.lane)
    return position


async def download_token(services: Services, record: JobRecord) -> str | None:
    """The job's download token, made findable until a while after the job expires."""
    if record.status != JobStatus.COMPLETED or record.expires_at is None:
        return None
    token = services.tokens.mint(record.job_id)
    if not services.tokens.indexed(record.job_id):
        remaining = (record.expires_at - utcnow()).total_seconds()
        ttl = int(remaining) + services.settings.tombstone_ttl_seconds
        await services.jobs.index_token(token, record.job_id, ttl)
        services.tokens.remember_indexed(record.job_id)
    return token


async def status_parts(
    services: Services, record: JobRecord
) -> tuple[int | None, str | None, Estimate]:
    """What a job's status shows beside its record: queue position, download token and
    estimate."""
    position = await queue_position(services, record)
    estimate = await services.estimates.of(record)
    token = await download_token(services, record)
    return position, token, estimate


async def status_view(services: Services, record: JobRecord) -> JobStatusView:
    """A job as GET /status shows it (queue position, estimates, download URL); the view
    last made of it when nothing it shows moved."""
    position, token, estimate = await status_parts(services, record)
    return services.status_views.view(record, position, token, estimate)
