"""Queueing datasets: POST /api/AsyncReports/queue-multipart and /queue-json."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency

from reports_shared.constants import API_PREFIX
from reports_shared.jobs import JobRecord

from ..access.keys import Principal, client_identity
from ..errors import InvalidRequest, PayloadTooLarge
from ..jobs.views import Accepted, accepted
from ..openapi import SUBMISSION_PROBLEMS, MultipartOperation, QueueJsonOperation, problems
from ..state import Services
from . import idempotency
from .json_body import take_json_dataset
from .submissions import Submission
from .uploads import (
    KEEPALIVE_TTL_SECONDS,
    MIB,
    StreamingUpload,
    boundary_of,
    receive_form,
    too_large,
)

_FORM_FIELDS = {"reportType", "userName", "isLargeDataset", "dataFile", "callbackUrl"}


class IntakeController(Controller):
    """Take datasets in; answer at once with the job to follow."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @post(
        "/queue-multipart",
        request_max_body_size=None,
        status_code=202,
        operation_class=MultipartOperation,
        responses=problems(*SUBMISSION_PROBLEMS, 409, 422),
    )
    async def queue_multipart(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> Response[Accepted]:
        """Queue a dataset sent as multipart/form-data (the seed's four fields)."""
        limit = services.settings.max_upload_bytes
        boundary = boundary_of(request.headers.get("content-type", ""))
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit + MIB:
            raise PayloadTooLarge(too_large(limit))
        held = await idempotency.claim(request, services, principal)
        try:
            return await _take_multipart(request, services, principal, held, boundary)
        except BaseException:
            if isinstance(held, idempotency.KeyClaim):
                await held.release()
            raise

    @post(
        "/queue-json",
        request_max_body_size=None,
        status_code=202,
        operation_class=QueueJsonOperation,
        responses=problems(*SUBMISSION_PROBLEMS, 409, 422),
    )
    async def queue_json(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> Response[Accepted]:
        """Queue a dataset sent in a JSON body: {reportType, userName, jsonData, isLargeDataset}."""
        held = await idempotency.claim(request, services, principal)
        try:
            return await _take_json(request, services, principal, held)
        except BaseException:
            if isinstance(held, idempotency.KeyClaim):
                await held.release()
            raise


async def _take_json(
    request: Request[Any, Any, Any], services: Services, principal: Principal,
    held: JobRecord | idempotency.KeyClaim | None,
) -> Response[Accepted]:  # fmt: skip
    earlier = held if isinstance(held, JobRecord) else None
    if earlier is None:  # a retry is not counted again
        await services.submissions.check(client_identity(principal, request))
    # A slow body keeps the key held, as a multipart upload does.
    keepalive = held.renew if isinstance(held, idempotency.KeyClaim) else None
    job_id, submission, payload = await take_json_dataset(
        request, services, principal, keepalive=keepalive
    )
    if earlier is not None:
        await services.submitter.discard(job_id, payload.key)
        idempotency.check_same(earlier, submission, payload)
        return accepted(earlier)
    record = await services.submitter.enqueue(job_id, submission, payload)
    if isinstance(held, idempotency.KeyClaim):
        await held.settle(record.job_id)
    return accepted(record, estimate=await services.estimates.of(record))


async def _take_multipart(
    request: Request[Any, Any, Any], services: Services, principal: Principal,
    held: JobRecord | idempotency.KeyClaim | None, boundary: str,
) -> Response[Accepted]:  # fmt: skip
    limit = services.settings.max_upload_bytes
    earlier = held if isinstance(held, JobRecord) else None
    if earlier is None:  # a retry is not counted again
        await services.submissions.check(client_identity(principal, request))
    job_id = services.submitter.new_job_id()
    checked: list[Submission] = []

    async def start_file(fields: dict[str, str], file_name: str | None) -> StreamingUpload:
        # Fields sent before the file are checked before a byte of it is stored (all
        # of them once callbackUrl is there too; it may come after the file).
        if "reportType" in fields and "userName" in fields:
            checked.append(await _check_form(services, fields, principal))
        key = services.settings.names.payload_key(job_id)
        return StreamingUpload(
            services.objects, key, limit, keepalive, compress=services.settings.compress_payloads
        )

    async def keepalive() -> None:
        await services.jobs.mark_uploading(job_id, KEEPALIVE_TTL_SECONDS)
        if isinstance(held, idempotency.KeyClaim):
            await held.renew()

    await services.upload_slots.reserve(1)
    try:
        form = await receive_form(request.stream(), boundary, start_file)
    finally:
        await services.upload_slots.release(1)
    if form.payload is None:
        raise InvalidRequest("Falta el archivo 'dataFile' con los datos JSON.")
    try:
        if checked:  # callbackUrl may come after the file
            callback = _form_callback(services, form.fields, principal)
            submission = replace(checked[0], callback_url=callback)
        else:
            submission = await _check_form(services, form.fields, principal)
        if form.payload.size == 0:
            raise InvalidRequest("El archivo 'dataFile' está vacío.")
        if earlier is not None:
            idempotency.check_same(earlier, submission, form.payload)
            await services.submitter.discard(job_id, form.payload.key)
            return accepted(earlier)
        record = await services.submitter.enqueue(job_id, submission, form.payload)
    except BaseException:
        await services.submitter.discard(job_id, form.payload.key)
        raise
    if isinstance(held, idempotency.KeyClaim):
        await held.settle(record.job_id)
    return accepted(record, estimate=await services.estimates.of(record))


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
        callback_url=fields.get("callbackUrl"),
    )


def _form_callback(services: Services, fields: dict[str, str], principal: Principal) -> str:
    return services.submitter.callbacks.for_submission(fields.get("callbackUrl"), principal.name)
