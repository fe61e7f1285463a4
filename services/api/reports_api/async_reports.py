"""Following jobs under /api/AsyncReports: status, download, active jobs, cache, types."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response import Stream

from reports_shared.cache import CacheStats
from reports_shared.constants import API_PREFIX, JobStatus, Lane
from reports_shared.jobs import JobRecord, utcnow

from .access import Principal, check_visible, require_operator
from .apidocs import problems
from .downloads import zip_response
from .errors import JobGone, JobNotFound
from .intake import POLL_AFTER
from .state import Services
from .views import ActiveJobs, JobStatusView, ReportTypeView, job_view

_ACTIVE = {JobStatus.QUEUED, JobStatus.PROCESSING}
_GONE_LINK = "El enlace de descarga no existe o ya expiró."


class AsyncReportsController(Controller):
    """Follow jobs and download their reports."""

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
        headers = {"Retry-After": POLL_AFTER} if record.status in _ACTIVE else {}
        token = await download_token(services, record)
        return Response(job_view(record, position, token), headers=headers)

    @get(
        "/download/{token:str}",
        media_type="application/zip",
        responses={
            206: ResponseSpec(data_container=bytes, description="Parte del ZIP (Range)",
                              media_type="application/zip", generate_examples=False),
            **problems(401, 404, 410, 416, 503),
        },
    )  # fmt: skip
    async def download(
        self,
        token: str,
        services: Services,
        principal: Principal,
        range_header: str | None = Parameter(header="Range", default=None),
        if_range: str | None = Parameter(header="If-Range", default=None),
    ) -> Any:
        """The report's ZIP, as an attachment; supports Range to resume a broken download."""
        job_id = await services.jobs.job_for_token(token) if 16 <= len(token) <= 128 else None
        if job_id is None or not services.tokens.matches(token, job_id):
            raise JobNotFound(_GONE_LINK)
        record = await find_job(services, job_id, principal)  # 410 once expired
        if record.status != JobStatus.COMPLETED or not record.result_key or not record.file_name:
            raise JobNotFound(_GONE_LINK)
        response: Response[object] | Stream = await zip_response(
            services.objects, record.result_key, record.file_name, range_header, if_range
        )
        return response

    @get("/active-jobs", responses=problems(401, 503))
    async def active_jobs(
        self,
        services: Services,
        principal: Principal,
        user_name: str | None = Parameter(query="userName", default=None),
    ) -> ActiveJobs:
        """Jobs queued or processing, oldest first (a client sees its own only)."""
        records = await services.jobs.get_many(await services.jobs.active_ids())
        records = [r for r in records if r.status in _ACTIVE and principal.may_see(r)]
        if user_name:
            records = [r for r in records if r.user_name == user_name]
        positions = _positions(records)
        views = [job_view(r, positions.get(r.job_id)) for r in records]
        return ActiveJobs(count=len(views), jobs=views)

    @get("/cache-stats", responses=problems(401, 403, 503))
    async def cache_stats(self, services: Services, principal: Principal) -> CacheStats:
        """Figures of the temporary report cache (operators only)."""
        require_operator(principal)
        return await asyncio.to_thread(services.cache.stats)

    @get("/report-types", responses=problems(401, 503))
    async def report_types(self, services: Services, principal: Principal) -> list[ReportTypeView]:
        """The report types the running workers build."""
        catalog = await services.jobs.report_types()
        return [ReportTypeView(name=n, description=d) for n, d in sorted(catalog.items())]


async def find_job(services: Services, job_id: str, principal: Principal) -> JobRecord:
    """A job the caller may see: 404 if unknown or another client's, 410 if expired."""
    record = await services.jobs.get(job_id) if len(job_id) <= 64 else None
    if record is None:
        raise JobNotFound(f"No existe un trabajo con id '{job_id[:64]}'.")
    check_visible(principal, record)
    if record.status == JobStatus.EXPIRED:
        raise JobGone("El trabajo y su reporte expiraron y fueron eliminados.")
    return record


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


def _positions(records: list[JobRecord]) -> dict[str, int]:
    """Queue positions per lane, from records already in creation order."""
    counters = dict.fromkeys(Lane, 0)
    positions: dict[str, int] = {}
    for record in records:
        if record.status == JobStatus.QUEUED:
            counters[record.lane] += 1
            positions[record.job_id] = counters[record.lane]
    return positions
