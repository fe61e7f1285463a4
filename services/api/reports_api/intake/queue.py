"""Queueing datasets: POST /api/AsyncReports/queue-multipart and /queue-json."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post

from reports_shared.constants import API_PREFIX
from reports_shared.jobs import JobRecord

from ..access.keys import Principal, client_identity
from ..errors import InvalidRequest, PayloadTooLarge
from ..jobs.views import Accepted, accepted
from ..openapi import SUBMISSION_PROBLEMS, JsonBodyOperation, MultipartOperation, problems
from ..state import Services
from .json_body import take_json_dataset
from .submissions import Submission
from .uploads import KEEPALIVE_TTL_SECONDS, MIB, StreamingUpload, boundary_of, receive_form

_FORM_FIELDS = {"reportType", "userName", "isLargeDataset", "dataFile"}


class IntakeController(Controller):
    """Take datasets in; answer at once with the job to follow."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @post(
        "/queue-multipart",
        request_max_body_size=None,
        status_code=202,
        operation_class=MultipartOperation,
        responses=problems(*SUBMISSION_PROBLEMS),
    )
    async def queue_multipart(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal
    ) -> Response[Accepted]:
        """Queue a dataset sent as multipart/form-data (the seed's four fields)."""
        limit = services.settings.max_upload_bytes
        boundary = boundary_of(request.headers.get("content-type", ""))
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit + MIB:
            raise PayloadTooLarge(f"El archivo supera el máximo permitido de {limit // MIB} MB.")
        if (replay := await _replay(request, services, principal)) is not None:
            return replay
        await services.submissions.check(client_identity(principal, request))
        job_id = services.submitter.new_job_id()
        checked: list[Submission] = []

        async def start_file(fields: dict[str, str], file_name: str | None) -> StreamingUpload:
            # Fields sent before the file are checked before a byte of it is stored.
            if "reportType" in fields and "userName" in fields:
                checked.append(await _check_form(services, fields, principal))
            key = services.settings.names.payload_key(job_id)
            return StreamingUpload(services.objects, key, limit, keepalive)

        async def keepalive() -> None:
            await services.jobs.mark_uploading(job_id, KEEPALIVE_TTL_SECONDS)

        await services.upload_slots.reserve(1)
        try:
            form = await receive_form(request.stream(), boundary, start_file)
        finally:
            await services.upload_slots.release(1)
        if form.payload is None:
            raise InvalidRequest("Falta el archivo 'dataFile' con los datos JSON.")
        try:
            submission = (
                checked[0] if checked else await _check_form(services, form.fields, principal)
            )
            if form.payload.size == 0:
                raise InvalidRequest("El archivo 'dataFile' está vacío.")
            record = await services.submitter.enqueue(job_id, submission, form.payload)
        except BaseException:
            await services.submitter.discard(job_id, form.payload.key)
            raise
        await _remember(request, services, principal, record)
        return accepted(record)

    @post(
        "/queue-json",
        request_max_body_size=None,
        status_code=202,
        operation_class=JsonBodyOperation,
        responses=problems(*SUBMISSION_PROBLEMS),
    )
    async def queue_json(
        self, request: Request[Any, Any, Any], services: Services, principal: Principal
    ) -> Response[Accepted]:
        """Queue a dataset sent in a JSON body: {reportType, userName, jsonData, isLargeDataset}."""
        if (replay := await _replay(request, services, principal)) is not None:
            return replay
        await services.submissions.check(client_identity(principal, request))
        job_id, submission, payload = await take_json_dataset(request, services, principal)
        record = await services.submitter.enqueue(job_id, submission, payload)
        await _remember(request, services, principal, record)
        return accepted(record)


async def _check_form(
    services: Services, fields: dict[str, str], principal: Principal
) -> Submission:
    options = {k: v for k, v in fields.items() if k not in _FORM_FIELDS}
    return await services.submitter.check(
        fields.get("reportType"),
        fields.get("userName"),
        fields.get("isLargeDataset"),
        options,
        owner=principal.name,
    )


def _idempotency_scope(request: Request[Any, Any, Any], principal: Principal) -> str:
    return f"{principal.name}\0{request.url.path}\0"


async def _replay(
    request: Request[Any, Any, Any], services: Services, principal: Principal
) -> Response[Accepted] | None:
    """The job a retried submission (same Idempotency-Key) already created."""
    key = request.headers.get("idempotency-key")
    if not key:
        return None
    if len(key) > 200:
        raise InvalidRequest("El encabezado Idempotency-Key supera 200 caracteres.")
    scope = _idempotency_scope(request, principal)
    job_id = await services.jobs.job_for_idempotency_key(scope, key)
    record = await services.jobs.get(job_id) if job_id else None
    return None if record is None else accepted(record)


async def _remember(
    request: Request[Any, Any, Any], services: Services, principal: Principal, record: JobRecord
) -> None:
    key = request.headers.get("idempotency-key")
    if key:
        scope = _idempotency_scope(request, principal)
        ttl = services.settings.job_ttl_seconds
        await services.jobs.remember_idempotency_key(scope, key, record.job_id, ttl)
