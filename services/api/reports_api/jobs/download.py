"""GET /api/AsyncReports/download/{token}: a finished job's ZIP, resumable."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.response import Stream

from reports_shared.constants import API_PREFIX, JobStatus

from ..access.keys import Principal
from ..errors import JobNotFound
from ..openapi import problems
from ..state import Services
from .downloads import zip_response
from .lookup import find_job

_GONE_LINK = "El enlace de descarga no existe o ya expiró."


class DownloadController(Controller):
    """Download a finished job's report."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

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
