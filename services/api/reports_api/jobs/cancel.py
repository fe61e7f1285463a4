"""Cancelling a job: ``DELETE /api/AsyncReports/jobs/{jobId}`` (and ``POST /cancel/{jobId}``).

The cancel is one atomic move of the record into Cancelled, kept in Redis like any status,
so it outlives an api, a worker or (with persistence) Redis itself. Nothing has to reach
the worker: a queued job's message is skipped when it arrives (the worker starts only a
Queued job), and a running build learns it within a second, when its heartbeat's fenced
write is refused; it then stops between batches, lets its helpers go, gives back its slot
and dataset claim, and its ZIP is never published (the publish is refused the same way).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from litestar import Controller, delete, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from reports_shared.constants import ACTIVE_STATUSES, API_PREFIX, JobStatus
from reports_shared.errors import TransitionRefused
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore.records import epoch
from reports_shared.storedpayload import drop_payload

from ..access.keys import Principal
from ..errors import JobFinished
from ..openapi import problems
from ..state import Services
from .lookup import find_job
from .views import JobStatusView, job_view

log = structlog.get_logger(__name__)

_RESPONSES = problems(401, 404, 409, 410, 503)


class JobCancelController(Controller):
    """Stopping a job sent by mistake."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @delete("/jobs/{job_id:str}", status_code=200, responses=_RESPONSES)
    async def cancel(
        self,
        job_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> JobStatusView:
        """Cancel a queued or running job: the job as it ends (status Failed, outcome
        Cancelled, as GET /status shows it). Cancelling again answers the same; a
        finished job is 409."""
        return job_view(await cancel_job(services, job_id, principal))

    @post("/cancel/{job_id:str}", status_code=200, responses=_RESPONSES)
    async def cancel_by_post(
        self,
        job_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> JobStatusView:
        """The same as DELETE /jobs/{jobId}, for clients and forms that only POST."""
        return job_view(await cancel_job(services, job_id, principal))


async def cancel_job(services: Services, job_id: str, principal: Principal) -> JobRecord:
    """Move the job into Cancelled; the record as it is after (already cancelled: as is)."""
    record = await find_job(services, job_id, principal)
    if record.status in ACTIVE_STATUSES:
        now = utcnow()
        expires = now + timedelta(seconds=services.settings.job_ttl_seconds)
        fields = {
            "message": "Cancelado a pedido del usuario.",
            "completedAt": now,
            "expiresAt": expires,
        }
        try:
            await services.jobs.transition(
                record, ACTIVE_STATUSES, JobStatus.CANCELLED, fields, epoch(expires)
            )
        except TransitionRefused:
            pass  # it ended meanwhile: answer what it is now
        else:
            log.info("job_cancelled", job_id=record.job_id, was=str(record.status))
            if record.status == JobStatus.QUEUED:
                # No run reads it (a running build's is dropped by its worker when it stops).
                await asyncio.to_thread(drop_payload, services.objects, record, services.settings)
        record = await find_job(services, job_id, principal)
    if record.status != JobStatus.CANCELLED:
        raise JobFinished(
            f"El trabajo '{record.job_id}' ya terminó ({record.status.value}); "
            "no hay nada que cancelar."
        )
    return record
