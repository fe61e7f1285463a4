"""The seed's asynchronous endpoints under /api/AsyncReports."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Stream

from reports_shared.cache import CacheStats
from reports_shared.constants import API_PREFIX, JobStatus, Lane
from reports_shared.jobs import JobRecord, utcnow

from .downloads import zip_response
from .errors import InvalidRequest, JobGone, JobNotFound, PayloadTooLarge, UnsupportedMediaType
from .payloads import decode_body, inline_dataset
from .state import Services
from .submissions import Submission
from .uploads import MIB, StoredPayload, StreamingUpload, boundary_of, receive_form
from .views import (
    Accepted,
    ActiveJobs,
    JobStatusView,
    ReportTypeView,
    job_view,
    status_url,
)

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


class AsyncReportsController(Controller):
    """Submit datasets, follow jobs, download reports."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @post("/queue-multipart", request_max_body_size=None, status_code=202)
    async def queue_multipart(
        self, request: Request[Any, Any, Any], services: Services
    ) -> Response[Accepted]:
        """Queue a dataset sent as multipart/form-data (the seed's four fields)."""
        settings = services.settings
        boundary = boundary_of(request.headers.get("content-type", ""))
        limit = settings.max_upload_bytes
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit + MIB:
            raise PayloadTooLarge(f"El archivo supera el máximo permitido de {limit // MIB} MB.")
        if (replay := await _replay(request, services)) is not None:
            return replay
        job_id = services.submitter.new_job_id()
        key = settings.names.payload_key(job_id)
        checked: list[Submission] = []

        async def start_file(fields: dict[str, str], file_name: str | None) -> StreamingUpload:
            # Fields sent before the file are checked before a byte of it is stored.
            if "reportType" in fields and "userName" in fields:
                checked.append(await _check_form(services, fields))
            return StreamingUpload(services.objects, key, limit)

        await services.upload_slots.reserve(1)
        try:
            form = await receive_form(request.stream(), boundary, start_file)
        finally:
            await services.upload_slots.release(1)
        payload = form.payload
        if payload is None:
            raise InvalidRequest("Falta el archivo 'dataFile' con los datos JSON.")
        try:
            submission = checked[0] if checked else await _check_form(services, form.fields)
            if payload.size == 0:
                raise InvalidRequest("El archivo 'dataFile' está vacío.")
            record = await services.submitter.enqueue(job_id, submission, payload)
        except BaseException:
            await services.submitter.discard(job_id, payload.key)
            raise
        await _remember(request, services, record)
        return accepted(record)

    @post("/queue-json", request_max_body_size=None, status_code=202)
    async def queue_json(
        self, request: Request[Any, Any, Any], services: Services
    ) -> Response[Accepted]:
        """Queue a dataset sent in a JSON body: {reportType, userName, jsonData, isLargeDataset}."""
        if (replay := await _replay(request, services)) is not None:
            return replay
        body = await _read_json_body(request, services)
        try:
            request_body = decode_body(body)
            submission = await services.submitter.check(
                request_body.report_type,
                request_body.user_name,
                request_body.is_large_dataset,
                request_body.options,
            )
            dataset = await asyncio.to_thread(inline_dataset, request_body.json_data)
            del body, request_body
            job_id = services.submitter.new_job_id()
            payload = await _store_inline(services, job_id, dataset.data)
        finally:
            await services.json_budget.release(_json_cost(request))
        record = await services.submitter.enqueue(job_id, submission, payload)
        await _remember(request, services, record)
        return accepted(record)

    @get("/status/{job_id:str}")
    async def status(self, job_id: str, services: Services) -> Response[JobStatusView]:
        """The job as in the seed, with progress, queue position, error and expiry."""
        record = await _find(services, job_id)
        position = None
        if record.status == JobStatus.QUEUED:
            position = await services.jobs.queue_position(record.job_id, record.lane)
        headers = (
            {}
            if record.status not in {JobStatus.QUEUED, JobStatus.PROCESSING}
            else {"Retry-After": POLL_AFTER}
        )
        token = await _download_token(services, record)
        return Response(job_view(record, position, token), headers=headers)

    @get("/download/{token:str}", media_type="application/zip")
    async def download(
        self,
        token: str,
        services: Services,
        range_header: str | None = Parameter(header="Range", default=None),
        if_range: str | None = Parameter(header="If-Range", default=None),
    ) -> Any:
        """The report's ZIP, as an attachment; supports Range to resume a broken download."""
        job_id = await services.jobs.job_for_token(token) if 16 <= len(token) <= 128 else None
        if job_id is None or not services.tokens.matches(token, job_id):
            raise JobNotFound("El enlace de descarga no existe o ya expiró.")
        record = await _find(services, job_id)  # 410 once expired
        if record.status != JobStatus.COMPLETED or not record.result_key or not record.file_name:
            raise JobNotFound("El enlace de descarga no existe o ya expiró.")
        response: Response[object] | Stream = await zip_response(
            services.objects, record.result_key, record.file_name, range_header, if_range
        )
        return response

    @get("/active-jobs")
    async def active_jobs(
        self, services: Services, user_name: str | None = Parameter(query="userName", default=None)
    ) -> ActiveJobs:
        """Jobs queued or processing, oldest first (optionally only one user's)."""
        records = await services.jobs.get_many(await services.jobs.active_ids())
        records = [r for r in records if r.status in {JobStatus.QUEUED, JobStatus.PROCESSING}]
        if user_name:
            records = [r for r in records if r.user_name == user_name]
        positions = _positions(records)
        views = [job_view(r, positions.get(r.job_id)) for r in records]
        return ActiveJobs(count=len(views), jobs=views)

    @get("/cache-stats")
    async def cache_stats(self, services: Services) -> CacheStats:
        """Figures of the temporary report cache."""
        return await asyncio.to_thread(services.cache.stats)

    @get("/report-types")
    async def report_types(self, services: Services) -> list[ReportTypeView]:
        """The report types the running workers build."""
        catalog = await services.jobs.report_types()
        return [ReportTypeView(name=n, description=d) for n, d in sorted(catalog.items())]


async def _download_token(services: Services, record: JobRecord) -> str | None:
    """The job's download token, made findable until a while after the job expires."""
    if record.status != JobStatus.COMPLETED or record.expires_at is None:
        return None
    token = services.tokens.mint(record.job_id)
    remaining = (record.expires_at - utcnow()).total_seconds()
    ttl = int(remaining) + services.settings.tombstone_ttl_seconds
    await services.jobs.index_token(token, record.job_id, ttl)
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


async def _find(services: Services, job_id: str) -> JobRecord:
    record = await services.jobs.get(job_id) if len(job_id) <= 64 else None
    if record is None:
        raise JobNotFound(f"No existe un trabajo con id '{job_id[:64]}'.")
    if record.status == JobStatus.EXPIRED:
        raise JobGone("El trabajo y su reporte expiraron y fueron eliminados.")
    return record


async def _check_form(services: Services, fields: dict[str, str]) -> Submission:
    options = {k: v for k, v in fields.items() if k not in _FORM_FIELDS}
    return await services.submitter.check(
        fields.get("reportType"), fields.get("userName"), fields.get("isLargeDataset"), options
    )


def _json_cost(request: Request[Any, Any, Any]) -> int:
    """Memory a queue-json body may take: the body, the decoded string and the payload."""
    length = request.headers.get("content-length", "")
    return 3 * int(length) if length.isdigit() else 3 * 100 * MIB


async def _read_json_body(request: Request[Any, Any, Any], services: Services) -> bytes:
    settings = services.settings
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"Se esperaba application/json y se recibió '{media or 'ninguno'}'."
        )
    length = request.headers.get("content-length", "")
    limit_text = (
        f"El cuerpo supera el máximo de {settings.max_json_bytes // MIB} MB; use /queue-multipart."
    )
    if length.isdigit() and int(length) > settings.max_json_bytes:
        raise PayloadTooLarge(limit_text)
    await services.json_budget.reserve(_json_cost(request))
    try:
        chunks = bytearray()
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > settings.max_json_bytes:
                raise PayloadTooLarge(limit_text)
        return bytes(chunks)
    except BaseException:
        await services.json_budget.release(_json_cost(request))
        raise


async def _store_inline(services: Services, job_id: str, data: bytes) -> StoredPayload:
    import hashlib
    import io

    key = services.settings.names.payload_key(job_id)
    await asyncio.to_thread(
        services.objects.put_stream, key, io.BytesIO(data), len(data), "application/json"
    )
    return StoredPayload(key, len(data), hashlib.sha256(data).hexdigest())


async def _replay(request: Request[Any, Any, Any], services: Services) -> Response[Accepted] | None:
    """The job a retried submission (same Idempotency-Key) already created."""
    key = request.headers.get("idempotency-key")
    if not key:
        return None
    if len(key) > 200:
        raise InvalidRequest("El encabezado Idempotency-Key supera 200 caracteres.")
    job_id = await services.jobs.job_for_idempotency_key(request.url.path, key)
    record = await services.jobs.get(job_id) if job_id else None
    return None if record is None else accepted(record)


async def _remember(request: Request[Any, Any, Any], services: Services, record: JobRecord) -> None:
    key = request.headers.get("idempotency-key")
    if key:
        await services.jobs.remember_idempotency_key(
            request.url.path, key, record.job_id, services.settings.job_ttl_seconds
        )
