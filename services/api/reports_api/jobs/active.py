"""GET /api/AsyncReports/active-jobs: jobs queued or processing, with queue positions."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from reports_shared.constants import ACTIVE_STATUSES, API_PREFIX, JobStatus, Lane
from reports_shared.jobs import JobRecord

from ..access.keys import Principal
from ..openapi import problems
from ..state import Services
from .views import ActiveJobs, job_view


class ActiveJobsController(Controller):
    """Jobs still waiting or running."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/active-jobs", responses=problems(401, 503))
    async def active_jobs(
        self,
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        user_name: Annotated[str | None, QueryParameter(name="userName")] = None,
    ) -> ActiveJobs:
        """Jobs queued or processing, oldest first (a client sees its own only)."""
        records = await services.jobs.get_many(await services.jobs.active_ids())
        records = [r for r in records if r.status in ACTIVE_STATUSES and principal.may_see(r)]
        if user_name:
            records = [r for r in records if r.user_name == user_name]
        positions = _positions(records)
        estimates = [await services.estimates.of(r) for r in records]
        views = [
            job_view(r, positions.get(r.job_id), estimate=e)
            for r, e in zip(records, estimates, strict=True)
        ]
        return ActiveJobs(count=len(views), jobs=views)


def _positions(records: list[JobRecord]) -> dict[str, int]:
    """Queue positions per lane, from records already in creation order."""
    counters = dict.fromkeys(Lane, 0)
    positions: dict[str, int] = {}
    for record in records:
        if record.status == JobStatus.QUEUED:
            counters[record.lane] += 1
            positions[record.job_id] = counters[record.lane]
    return positions
