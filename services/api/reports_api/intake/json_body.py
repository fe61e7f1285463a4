"""A JSON submission's body: read within its limits, checked, and its dataset stored."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request

from reports_shared.storedpayload import Deflating

from ..access.keys import Principal
from ..errors import PayloadTooLarge, UnsupportedMediaType
from ..settings import JSON_COST_PER_BYTE
from ..state import Services
from .payloads import decode_body, inline_dataset
from .submissions import Submission, parse_flag
from .uploads import KEEPALIVE_EVERY_SECONDS, StoredPayload, decimal_size


async def take_json_dataset(
    request: Request[Any, Any, Any],
    services: Services,
    principal: Principal,
    max_records: int | None = None,
    keepalive: Callable[[], Awaitable[None]] | None = None,
) -> tuple[str, Submission, StoredPayload]:
    """A JSON submission checked and its dataset stored: the new job id, the request, the
    payload. Over ``max_records`` records it is refused with 413 (the synchronous path).
    ``keepalive`` is awaited every few seconds while the body comes in."""
    body, cost = await read_json_body(request, services, keepalive)
    try:
        request_body = decode_body(body)
        large = request_body.is_large_dataset
        if max_records is not None:
            # The synchronous path builds in the small lane whatever the flag says; a flag
            # that is neither true nor false is refused there too (400), as on queue-json.
            parse_flag("isLargeDataset", large)
            large = False
        submission = await services.submitter.check(
            request_body.report_type,
            request_body.user_name,
            large,
            request_body.options,
            owner=principal.name,
            callback_url=request_body.callback_url,
            asynchronous=max_records is None,
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
        await services.json_budget.release(cost)
    return job_id, submission, payload


async def read_json_body(
    request: Request[Any, Any, Any],
    services: Services,
    keepalive: Callable[[], Awaitable[None]] | None = None,
) -> tuple[bytes, int]:
    """The body of a JSON submission, within the size limit and the memory budget, and the
    part of the budget it took: on success the caller owns that part and must release it.
    ``keepalive``, if any, is awaited every KEEPALIVE_EVERY_SECONDS while the body comes in
    (a slow client's Idempotency-Key stays held)."""
    settings = services.settings
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"Se esperaba application/json y se recibió '{media or 'ninguno'}'."
        )
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        # The api does not decompress a request body: msgspec would call it malformed JSON.
        raise UnsupportedMediaType(
            f"El cuerpo llega con Content-Encoding '{encoding[:40]}', que la api no "
            "descomprime: envíe el JSON sin comprimir, o el archivo .json.gz como 'dataFile' "
            "de /queue-multipart o por /uploads (tus)."
        )
    length = request.headers.get("content-length", "")
    too_large = (
        f"El cuerpo supera el máximo de {decimal_size(settings.max_json_bytes)}; "
        "use /queue-multipart."
    )
    # A body of unknown length may be as long as the limit.
    declared = int(length) if length.isdigit() else settings.max_json_bytes
    if declared > settings.max_json_bytes:
        raise PayloadTooLarge(too_large)
    # Memory the body may take: the body, the decoded string and the payload.
    cost = JSON_COST_PER_BYTE * declared
    await services.json_budget.reserve(cost)
    try:
        chunks = bytearray()
        alive_at = time.monotonic()
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > settings.max_json_bytes:
                raise PayloadTooLarge(too_large)
            if keepalive is not None and time.monotonic() - alive_at >= KEEPALIVE_EVERY_SECONDS:
                alive_at = time.monotonic()
                await keepalive()
        return bytes(chunks), cost
    except BaseException:
        await services.json_budget.release(cost)
        raise


async def store_inline(services: Services, job_id: str, data: bytes) -> StoredPayload:
    """Put an inline dataset in storage as the job's payload."""
    key = services.settings.names.payload_key(job_id)
    gzip = services.settings.compress_payloads
    await asyncio.to_thread(_put, services, key, data, gzip=gzip)
    return StoredPayload(key, len(data), hashlib.sha256(data).hexdigest(), gzip=gzip)


def _put(services: Services, key: str, data: bytes, *, gzip: bool) -> None:
    stored = Deflating(io.BytesIO(data)).read() if gzip else data
    media = "application/gzip" if gzip else "application/json"
    services.objects.put_stream(key, io.BytesIO(stored), len(stored), media)
