"""Idempotency-Key (IETF draft): a retried submission gets the job it created; the same key
with another payload is refused (422), never answered with a job of other data.

The payload is compared by what makes the job: report type, user, flag, options and the
dataset's SHA-256 (a multipart body differs between retries by its boundary alone), all read
from the first job's record, so nothing beyond the key's job id is stored.

Requests with one key sent at once make one job: the first takes the key (a claim that
expires, so a request killed midway never holds it for long, and is let go when the request
fails) and ties it to its job once made. One that finds the key claimed waits for that
request, a short bounded wait, then answers as a retry would (the same job, or 422); if the
first is still running (a long upload), 409 with Retry-After: a client retrying then gets
the job, and no connection is held for the length of another's upload.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request

from reports_shared.jobs import JobRecord

from ..access.keys import Principal
from ..errors import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidRequest
from ..state import Services
from .submissions import Submission
from .uploads import StoredPayload

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 200
#: How long a request waits for another holding its key before answering 409.
WAIT_SECONDS = 5.0
#: How often it looks whether the other one finished meanwhile.
_POLL_SECONDS = 0.05
#: How long a claim lasts unless renewed (an upload renews it while bytes come in).
CLAIM_SECONDS = 30
#: Retry-After of the 409.
RETRY_AFTER_SECONDS = 5
_CLAIM = "pending:"


def _scope(request: Request[Any, Any, Any], principal: Principal) -> str:
    return f"{principal.name}\0{request.url.path}\0"


def _key(request: Request[Any, Any, Any]) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not key.strip():
        # A blank key would tie every retry of every submission together: refuse it.
        raise InvalidRequest("El encabezado Idempotency-Key está vacío.")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"El encabezado Idempotency-Key supera {MAX_KEY_LENGTH} caracteres.")
    return key


@dataclass
class KeyClaim:
    """An Idempotency-Key this request holds while it makes its job."""

    services: Services
    scope: str
    key: str
    value: str

    async def renew(self) -> None:
        """Hold the key for another CLAIM_SECONDS (a long upload still coming in)."""
        await self.services.jobs.settle_idempotency_key(
            self.scope, self.key, self.value, self.value, CLAIM_SECONDS
        )

    async def settle(self, job_id: str) -> None:
        """Tie the key to the job this request made."""
        await self.services.jobs.settle_idempotency_key(
            self.scope, self.key, self.value, job_id, self.services.settings.job_ttl_seconds
        )

    async def release(self) -> None:
        """Let the key go: this request made no job."""
        await self.services.jobs.settle_idempotency_key(self.scope, self.key, self.value, "")


async def claim(
    request: Request[Any, Any, Any], services: Services, principal: Principal
) -> JobRecord | KeyClaim | None:
    """What this request's Idempotency-Key stands for: None without one, else as
    :func:`claim_key`."""
    key = _key(request)
    if key is None:
        return None
    return await claim_key(services, _scope(request, principal), key)


async def claim_key(services: Services, scope: str, key: str) -> JobRecord | KeyClaim | None:
    """The job an earlier submission with this key created; or the key, now held by this
    request, which must settle or release it (None: its job is gone, it guards nothing).
    Waits up to WAIT_SECONDS for a request holding it, then 409."""
    value = _CLAIM + uuid.uuid4().hex
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        held = await services.jobs.claim_idempotency_key(scope, key, value, CLAIM_SECONDS)
        if held is None:
            return KeyClaim(services, scope, key, value)
        if not held.startswith(_CLAIM):
            # A key whose job is gone already (rare: the key expires first) guards nothing.
            return await services.jobs.get(held)
        if time.monotonic() >= deadline:
            raise IdempotencyKeyInUse(
                "Otra solicitud con el mismo encabezado Idempotency-Key todavía está en "
                f"curso; repita el envío en {RETRY_AFTER_SECONDS} segundos para recibir "
                "su trabajo.",
                retryAfter=RETRY_AFTER_SECONDS,
            )
        await asyncio.sleep(_POLL_SECONDS)


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
