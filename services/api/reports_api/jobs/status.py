"""GET /api/AsyncReports/status/{jobId}: one job, as the seed shows it and more."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from reports_shared.constants import ACTIVE_STATUSES, API_PREFIX, JobStatus

from ..openapi import problems
from ..state import services_of
from .lookup import find_visible, status_parts
from .views import GoneJobView, JobStatusView, MissingJobView, job_view, retry_after

_MISSING = "No existe un trabajo con id '{}'."
_GONE = "El trabajo y su reporte expiraron y fueron eliminados."

#: The status answers 404 and 410 in the seed's shape (``status`` is "Failed", with a
#: ``message``), not as problem details: the seed's clients read ``status`` and ``message``
#: of every answer and poll until Completed or Failed.
_ENDED_ELSEWISE = {
    404: ResponseSpec(
        data_container=MissingJobView,
        description="No existe (o es de otro cliente): status Failed, con message",
        generate_examples=False,
    ),
    410: ResponseSpec(
        data_container=GoneJobView,
        description="Expirado: el trabajo como terminó, status Failed y outcome Expired",
        generate_examples=False,
    ),
}


class JobStatusController(Controller):
    """The status of one job."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/status/{job_id:str}", responses={**problems(401, 503), **_ENDED_ELSEWISE})
    async def status(
        self, job_id: FromPath[str], request: Request[Any, Any, Any]
    ) -> Response[JobStatusView | MissingJobView]:
        """The job as in the seed, with progress, queue position, estimates, error, expiry and
        outcome; Retry-After follows the estimate."""
        # No dependency (``services``, ``principal``): resolving them took a tenth of a
        # status' CPU (cProfile), the hottest request. The caller is told as they do.
        services = services_of(request)
        principal = services.keys.identify(request)
        record = await find_visible(services, job_id, principal)
        if record is None:
            message = _MISSING.format(job_id[:64])
            missing = MissingJobView(
                job_id=job_id[:64], message=message, title="No encontrado", detail=message
            )
            return Response(missing, status_code=404)
        if record.status == JobStatus.EXPIRED:
            view = job_view(record)
            gone = GoneJobView(
                **{f: getattr(view, f) for f in view.__struct_fields__},
                title="Expirado",
                detail=_GONE,
            )
            return Response(gone, status_code=410)
        position, token, estimate = await status_parts(services, record)
        active = record.status in ACTIVE_STATUSES
        headers = {"Retry-After": retry_after(estimate)} if active else {}
        return services.status_views.response(record, position, token, estimate, headers)
