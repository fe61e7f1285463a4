"""GET /api/AsyncReports/status/{jobId}: one job, as the seed shows it and more."""

from __future__ import annotations

from litestar import Controller, Response, get

from reports_shared.constants import ACTIVE_STATUSES, API_PREFIX, JobStatus

from ..access.keys import Principal
from ..openapi import problems
from ..state import Services
from .lookup import download_token, find_job
from .views import POLL_AFTER, JobStatusView, job_view


class JobStatusController(Controller):
    """The status of one job."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/status/{job_id:str}", responses=problems(401, 404, 410, 503))
    async def status(
        self, job_id: str, services: Services, principal: Principal
    ) -> Response[JobStatusView]:
        """The job as in the seed, with progress, queue position, error and expiry."""
        record = await find_job(services, job_id, principal)
        position = None
        if record.status == JobStatus.QUEUED:
            position = await services.jobs.queue_position(record.job_id, record.lane)
        headers = {"Retry-After": POLL_AFTER} if record.status in ACTIVE_STATUSES else {}
        token = await download_token(services, record)
        return Response(job_view(record, position, token), headers=headers)
