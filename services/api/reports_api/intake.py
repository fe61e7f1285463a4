"""Submitting datasets: POST /queue-multipart and /queue-json, and what the sync path shares."""

from __future__ import annotations

import asyncio
import hashlib
import io
from typing import Any

from litestar import Controller, Request, Response, post

from reports_shared.constants import API_PREFIX, JobStatus
from reports_shared.jobs import JobRecord

from .access import Principal, client_identity
from .apidocs import SUBMISSION_PROBLEMS, JsonBodyOperation, MultipartOperation, problems
from .errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from .payloads import decode_body, inline_dataset
from .state import Services
from .submissions import Submission
from .uploads import (
    KEEPALIVE_TTL_SECONDS,
    MIB,
    StoredPayload,
    StreamingUpload,
    boundary_of,
    receive_form,
)
from .views import Accepted, status_url

_FORM_FIELDS = {"reportType", "userName", "isLargeDataset", "dataFile"}
#: Seconds a client should wait between polls (the seed polls every 5 s).
POLL_AFTER = "2"


def accepted(record: JobRecord, message: str = "Trabajo en cola") -> Response[Accepted]:
    """202 with where to poll (the job may already be Completed, from the cache)."""
    url = status_url(record.job_id)
    body = Accepted(
        job_id=record.job_id,
        status=record.status,
        message=message if record.status == JobStatus.QUEUED else record.message,
        created_at=record.created_at,
        status_url=url,
    )
    return Response(body, status_code=202, headers={"Location": url, "Retry-After": POLL_AFTER})


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


async def take_json_dataset(
    request: Request[Any, Any, Any],
    services: Services,
    principal: Principal,
    max_records: int | None = None,
) -> tuple[str, Submission, StoredPayload]:
    """A JSON submission checked and its dataset stored: the new job id, the request, the
    payload. Over ``max_records`` records it is refused with 413 (the synchronous path)."""
    body = await read_json_body(request, services)
    try:
        request_body = decode_body(body)
        submission = await services.submitter.check(
            request_body.report_type,
            request_body.user_name,
            False if max_records is not None else request_body.is_large_dataset,
            request_body.options,
            owner=principal.name,
        )
        dataset = await asyncio.to_thread(inline_dataset, request_body.json_data)
        del body, request_body
        if max_records is not None and dataset.records > max_records:
            raise PayloadTooLarge(
                f"El conjunto tiene {dataset.records} registros; el endpoint síncrono admite "
                f"hasta {max_records}. Use /api/AsyncReports/queue-json o "
                "/api/AsyncReports/queue-multipart."
            )
        job_id = services.submitter.new_job_id()
        payload = await store_inline(services, job_id, dataset.data)
    finally:
        await services.json_budget.release(json_cost(request))
    return job_id, submission, payload


def json_cost(request: Request[Any, Any, Any]) -> int:
    """Memory a JSON body may take: the body, the decoded string and the payload."""
    length = request.headers.get("content-length", "")
    return 3 * int(length) if length.isdigit() else 3 * 100 * MIB


async def read_json_body(request: Request[Any, Any, Any], services: Services) -> bytes:
    """The body of a JSON submission, within the size limit and the memory budget.

    On success the caller owns ``json_cost(request)`` of the budget and must release it.
    """
    settings = services.settings
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"Se esperaba application/json y se recibió '{media or 'ninguno'}'."
        )
    length = request.headers.get("content-length", "")
    too_large = (
        f"El cuerpo supera el máximo de {settings.max_json_bytes // MIB} MB; use /queue-multipart."
    )
    if length.isdigit() and int(length) > settings.max_json_bytes:
        raise PayloadTooLarge(too_large)
    await services.json_budget.reserve(json_cost(request))
    try:
        chunks = bytearray()
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > settings.max_json_bytes:
                raise PayloadTooLarge(too_large)
        return bytes(chunks)
    except BaseException:
        await services.json_budget.release(json_cost(request))
        raise


async def store_inline(services: Services, job_id: str, data: bytes) -> StoredPayload:
    """Put an inline dataset in storage as the job's payload."""
    key = services.settings.names.payload_key(job_id)
    await asyncio.to_thread(
        services.objects.put_stream, key, io.BytesIO(data), len(data), "application/json"
    )
    return StoredPayload(key, len(data), hashlib.sha256(data).hexdigest())


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
