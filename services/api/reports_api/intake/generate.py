"""The seed's synchronous endpoint for small datasets: the ZIP in the response itself."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Stream

from reports_shared.constants import SYNC_ROUTE, JobStatus

from ..access.keys import Principal, client_identity
from ..errors import ReportFailed
from ..jobs.downloads import zip_answer, zip_response
from ..jobs.views import Accepted, accepted
from ..openapi import SUBMISSION_PROBLEMS, JsonBodyOperation, problems
from ..state import Services
from .json_body import take_json_dataset


class SyncReportsController(Controller):
    """POST /api/Reports/generate."""

    path = SYNC_ROUTE
    tags = ["Reports"]  # noqa: RUF012 - Litestar reads this class attribute

    @post(
        "/",
        request_max_body_size=None,
        media_type="application/zip",
        status_code=200,
        operation_class=JsonBodyOperation,
        responses={
            202: ResponseSpec(data_container=Accepted, description="Tarda más de lo esperado"),
            **problems(*SUBMISSION_PROBLEMS, 422),
        },
    )
    async def generate(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> Any:
        """Build a small report and answer it as application/zip (413 above the record limit).

        The build runs on the worker pool like any other job (small lane, same code, same
        cap); this endpoint waits for it, so the api stays light and stateless.
        """
        settings = services.settings
        await services.submissions.check(client_identity(principal, request))
        job_id, submission, payload = await take_json_dataset(
            request, services, principal, max_records=settings.sync_max_records
        )
        record = await services.submitter.enqueue(job_id, submission, payload)
        finished = await services.jobs.wait_finished(job_id, settings.sync_timeout_seconds)
        if finished is None or finished.status in {JobStatus.QUEUED, JobStatus.PROCESSING}:
            # Too slow for one request: hand the client the job instead of a timeout.
            return accepted(record, "El reporte tarda más de lo esperado; siga el trabajo.")
        if finished.status != JobStatus.COMPLETED or not finished.result_key:
            raise ReportFailed(finished.message, jobId=job_id)
        name = finished.file_name or "reporte.zip"
        answer = await zip_answer(services.objects, finished.result_key, name, None, None)
        response: Response[object] | Stream = await zip_response(
            services.objects, finished.result_key, answer
        )
        return response
