"""Completion webhooks on the receiving side: check an event's signature, read it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from .errors import ReportsClientError
from .models import Job, _time


class InvalidWebhook(ReportsClientError):
    """A request that is not a genuine, fresh event of the service (bad or missing
    signature, a timestamp more than five minutes off, a body that is not an event)."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified completion event: ``report.completed``, ``report.failed`` or
    ``report.cancelled``, and the job as it ended."""

    type: str
    id: str
    timestamp: datetime | None
    job: Job
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class WebhookStatus:
    """A job's webhook as ``GET /jobs/{jobId}/webhook`` shows it."""

    job_id: str
    callback_url: str | None
    #: none, waiting, pending, delivered or failed.
    state: str
    event: str | None
    attempts: list[Mapping[str, Any]]
    next_attempt_at: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WebhookStatus:
        return cls(
            job_id=str(data["jobId"]),
            callback_url=data.get("callbackUrl"),
            state=str(data.get("state") or ""),
            event=data.get("event"),
            attempts=list(data.get("attempts") or []),
            next_attempt_at=_time(data.get("nextAttemptAt")),
        )


def verify_webhook(secret: str, body: bytes | str, headers: Mapping[str, str]) -> WebhookEvent:
    """The event in ``body`` if its Standard Webhooks signature is right for ``secret`` (the
    ``whsec_`` secret of ``GET /webhook-secret``); InvalidWebhook otherwise. Pass the raw
    body, as received, and the request's headers (any case)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    raw = body if isinstance(body, bytes) else body.encode()
    try:
        Webhook(secret).verify(raw, lowered)
        data = json.loads(raw)
        return WebhookEvent(
            type=str(data["type"]),
            id=lowered["webhook-id"],
            timestamp=_time(data.get("timestamp")),
            job=Job.from_json(data["data"]),
            raw=data,
        )
    except WebhookVerificationError as exc:
        raise InvalidWebhook(f"Webhook no válido: {exc}.") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidWebhook(f"Webhook no válido: el cuerpo no es un evento ({exc}).") from None
