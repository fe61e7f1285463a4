"""Idempotency-Key (IETF draft): a retried submission gets the job it created; the same key
with another payload is refused (422), never answered with a job of other data.

The payload is compared by what makes the job: report type, user, flag, options and the
dataset's SHA-256 (a multipart body differs between retries by its boundary alone), all read
from the first job's record, so nothing beyond the key's job id is stored.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from reports_shared.jobs import JobRecord

from ..access.keys import Principal
from ..errors import IdempotencyKeyReused, InvalidRequest
from ..state import Services
from .submissions import Submission
from .uploads import StoredPayload

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 200


def _scope(request: Request[Any, Any, Any], principal: Principal) -> str:
    return f"{principal.name}\0{request.url.path}\0"


async def earlier_job(
    request: Request[Any, Any, Any], services: Services, principal: Principal
) -> JobRecord | None:
    """The job an earlier submission with this request's Idempotency-Key created."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip():
        # A blank key would tie every retry of every submission together: refuse it.
        raise InvalidRequest("El encabezado Idempotency-Key está vacío.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"El encabezado Idempotency-Key supera {MAX_KEY_LENGTH} caracteres.")
    job_id = await services.jobs.job_for_idempotency_key(_scope(request, principal), key)
    return await services.jobs.get(job_id) if job_id else None


def check_same(earlier: JobRecord, submission: Submission, payload: StoredPayload) -> None:
    """422 unless this submission is the one that created ``earlier``."""
    sent = (
        submission.report_type,
        submission.user_name,
        submission.is_large_dataset,
        submission.options,
        payload.sha256,
    )
    recorded = (
        earlier.report_type,
        earlier.user_name,
        earlier.is_large_dataset,
        earlier.options,
        earlier.payload_sha256,
    )
    if sent != recorded:
        raise IdempotencyKeyReused(
            "El encabezado Idempotency-Key ya se usó con otros datos (otro archivo, tipo, "
            "usuario u opciones); use una clave nueva para un envío distinto.",
            jobId=earlier.job_id,
        )


async def remember(
    request: Request[Any, Any, Any], services: Services, principal: Principal, record: JobRecord
) -> None:
    """Tie the request's Idempotency-Key, if any, to the job it created."""
    key = request.headers.get(HEADER)
    if key:
        ttl = services.settings.job_ttl_seconds
        await services.jobs.remember_idempotency_key(
            _scope(request, principal), key, record.job_id, ttl
        )
