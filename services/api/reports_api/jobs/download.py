"""GET /api/AsyncReports/download/{token}: a finished job's ZIP, resumable."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get, head
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, HeaderParameter
from litestar.response import Stream

from reports_shared.constants import API_PREFIX, JobStatus
from reports_shared.jobs import JobRecord

from ..access.keys import Principal
from ..errors import JobNotFound
from ..openapi import problems
from ..state import Services
from .downloads import ZipAnswer, zip_answer, zip_response
from .lookup import check_live, find_visible

#: The one answer to a link that leads to nothing this caller may have: unknown, made up,
#: another client's or not finished; the same status and body, so it tells nothing.
_GONE_LINK = "El enlace de descarga no existe o ya expiró."

_RANGE = HeaderParameter(name="Range")
_IF_RANGE = HeaderParameter(name="If-Range")


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
        token: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        range_header: Annotated[str | None, _RANGE] = None,
        if_range: Annotated[str | None, _IF_RANGE] = None,
    ) -> Any:
        """The report's ZIP, as an attachment; supports Range to resume a broken download."""
        record, answer = await _answer(services, principal, token, range_header, if_range)
        assert record.result_key is not None  # checked by _answer
        response: Response[object] | Stream = await zip_response(
            services.objects, record.result_key, answer
        )
        return response

    @head(
        "/download/{token:str}",
        responses={
            # The GET's headers, its Content-Type too (the handler's media type would be
            # used to render the empty body, which Litestar cannot do for application/zip).
            200: ResponseSpec(data_container=bytes, description="Las cabeceras del ZIP",
                              media_type="application/zip", generate_examples=False),
            206: ResponseSpec(data_container=bytes, description="Parte del ZIP (Range)",
                              media_type="application/zip", generate_examples=False),
            **problems(401, 404, 410, 416, 503),
        },
    )  # fmt: skip
    async def download_head(
        self,
        token: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        range_header: Annotated[str | None, _RANGE] = None,
        if_range: Annotated[str | None, _IF_RANGE] = None,
    ) -> Response[None]:
        """The download's headers (size, name, ETag) without its body."""
        _, answer = await _answer(services, principal, token, range_header, if_range)
        headers = {**answer.headers, "Content-Type": "application/zip"}
        return Response(None, status_code=answer.status, headers=headers)


async def _answer(
    services: Services,
    principal: Principal,
    token: str,
    range_header: str | None,
    if_range: str | None,
) -> tuple[JobRecord, ZipAnswer]:
    """The finished job a link leads to, and what its download answers."""
    job_id = await services.jobs.job_for_token(token) if 16 <= len(token) <= 128 else None
    if job_id is None or not services.tokens.matches(token, job_id):
        raise JobNotFound(_GONE_LINK)
    record = await find_visible(services, job_id, principal)
    if record is None:
        raise JobNotFound(_GONE_LINK)
    check_live(record)  # 410 once expired, to its owner only
    if record.status != JobStatus.COMPLETED or not record.result_key or not record.file_name:
        raise JobNotFound(_GONE_LINK)
    answer = await zip_answer(
        services.objects, record.result_key, record.file_name, range_header, if_range
    )
    return record, answer
