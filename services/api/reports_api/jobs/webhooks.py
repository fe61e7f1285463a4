"""A job's completion webhook as its owner sees it, and the caller's signing secret.

``GET /api/AsyncReports/jobs/{jobId}/webhook``: where it goes, whether it was delivered,
every attempt (when, how long, the receiver's answer or why there was none) and when the
next is due. ``GET /api/AsyncReports/webhook-secret``: the ``whsec_`` secret that signs the
events of the caller's jobs, to verify them with any Standard Webhooks library.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from reports_shared.constants import API_PREFIX, JobStatus
from reports_shared.jobs import WebhookAttempt
from reports_shared.webhooks import event_type, signing_secret

from ..access.keys import Principal
from ..errors import JobNotFound
from ..openapi import problems
from ..state import Services
from .lookup import find_visible


class WebhookView(msgspec.Struct, rename="camel", kw_only=True):
    """GET /jobs/{jobId}/webhook."""

    job_id: str
    #: Where the event goes; null when the job has no webhook.
    callback_url: str | None
    #: none (no webhook), waiting (the job has not ended), pending (attempts go on),
    #: delivered, failed (given up: the schedule ran out, the receiver answered 410 Gone,
    #: or the URL was refused).
    state: str
    #: The event type it tells (report.completed, report.failed, report.cancelled).
    event: str | None
    attempts: list[WebhookAttempt]
    next_attempt_at: datetime | None


class WebhookSecret(msgspec.Struct, rename="camel", kw_only=True):
    """GET /webhook-secret."""

    #: The Standard Webhooks secret (whsec_ + base64) of the caller's API key.
    secret: str
    #: How events are signed.
    scheme: str = "Standard Webhooks v1 (HMAC-SHA256 of webhook-id.webhook-timestamp.body)"


class WebhookController(Controller):
    """Completion webhooks, seen by whoever submitted the job."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/jobs/{job_id:str}/webhook", responses=problems(401, 404, 503))
    async def job_webhook(
        self,
        job_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> WebhookView:
        """A job's completion webhook: its state and every delivery attempt."""
        record = await find_visible(services, job_id, principal)
        if record is None:
            raise JobNotFound(f"No existe un trabajo con id '{job_id[:64]}'.")
        state = (record.webhook_state or "waiting") if record.callback_url else "none"
        told: JobStatus | None = record.webhook_event
        return WebhookView(
            job_id=record.job_id,
            callback_url=record.callback_url or None,
            state=state,
            event=event_type(told) if told else None,
            attempts=record.webhook_attempts,
            next_attempt_at=record.webhook_next_attempt_at if state == "pending" else None,
        )

    @get("/webhook-secret", responses=problems(401, 503))
    async def webhook_secret(
        self, services: NamedDependency[Services], principal: NamedDependency[Principal]
    ) -> WebhookSecret:
        """The secret that signs the webhooks of the caller's jobs (each API key its own)."""
        # The name the caller's jobs are recorded under is what their secret derives from.
        return WebhookSecret(secret=signing_secret(services.settings.token_secret, principal.name))
