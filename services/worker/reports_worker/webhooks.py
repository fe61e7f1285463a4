"""Completion webhook deliveries: the outbox's dispatcher and the delivery actor.

They run in webhook workers of their own (``python -m reports_worker webhooks``: a Dramatiq
worker on the webhooks queue alone), so a delivery never waits behind a report nor holds
one of its slots. A final status puts its job in the outbox (``webhooks:due`` in Redis) in
the script that sets it; each worker's dispatcher claims what is due and enqueues one
message per attempt; the actor makes the attempt and writes when the next is due. Nothing
is held in memory or in a delayed message between attempts: the schedule lives in Redis,
so deliveries go on across restarts of anything, for as long as the schedule says (about
27.5 hours by default), and a claimed attempt that never reports is due again after its
lease.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import dramatiq
import msgspec
import structlog
import urllib3
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import AgeLimit, CurrentMessage, ShutdownNotifications, TimeLimit
from standardwebhooks import Webhook

from reports_shared.constants import (
    WEBHOOK_ACTOR,
    JobStatus,
    download_url,
    status_url,
)
from reports_shared.jobs import WEBHOOK_LOG_LIMIT, JobRecord, WebhookAttempt, utcnow
from reports_shared.jobstore import JobStore
from reports_shared.logs import configure_logging
from reports_shared.tokens import DownloadTokens
from reports_shared.webhooks import (
    CallbackRefused,
    WebhookEvent,
    WebhookEventData,
    event_status,
    event_type,
    message_id,
    public_addresses,
    retry_schedule,
    shown_url,
    signing_secret,
)

from . import settings as worker_settings

log = structlog.get_logger(__name__)

#: How often a dispatcher looks for due webhooks.
DISPATCH_EVERY_SECONDS = 0.5
#: Most bytes of a receiver's answer read (then the connection is dropped).
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "async-reports-webhooks/1"
#: Errors after which the next address of the name is tried.
_UNREACHABLE = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True)
class WebhookServices:
    """What a webhook worker process uses."""

    settings: worker_settings.WebhookSettings
    jobs: JobStore
    tokens: DownloadTokens
    schedule: list[float]

    @classmethod
    def from_settings(cls, settings: worker_settings.WebhookSettings) -> WebhookServices:
        """The clients of one webhook worker process (its settings checked)."""
        return cls(
            settings=settings,
            jobs=JobStore.from_url(settings.redis_url, settings.names),
            tokens=DownloadTokens(settings.token_secret),
            schedule=retry_schedule(settings.webhook_retry_schedule),
        )

    @property
    def lease_seconds(self) -> float:
        """How long a claimed attempt may take before it is due again."""
        return 3 * self.settings.webhook_timeout_seconds + 30


# --- the event ------------------------------------------------------------------------------


def build_event(services: WebhookServices, record: JobRecord) -> WebhookEvent:
    """The event of a job's final status (with a download link if it completed and its
    report is still there)."""
    told = record.webhook_event or record.status
    base = services.settings.public_url.rstrip("/")
    link = None
    if told == JobStatus.COMPLETED == record.status and record.expires_at is not None:
        token = services.tokens.mint(record.job_id)
        remaining = (record.expires_at - utcnow()).total_seconds()
        ttl = int(remaining) + services.settings.tombstone_ttl_seconds
        services.jobs.index_token(token, record.job_id, ttl)
        link = base + download_url(token)
    completed = told == JobStatus.COMPLETED
    return WebhookEvent(
        type=event_type(told),
        timestamp=utcnow(),
        data=WebhookEventData(
            job_id=record.job_id,
            status=event_status(told),
            outcome=told,
            message=record.message,
            report_type=record.report_type,
            user_name=record.user_name,
            created_at=record.created_at,
            completed_at=record.completed_at,
            status_url=base + status_url(record.job_id),
            download_url=link,
            expires_at=record.expires_at,
            file_name=record.file_name if completed else None,
            file_size_bytes=record.file_size_bytes if completed else None,
            records_processed=record.records_processed,
            records_rejected=record.records_rejected,
            error=record.error,
        ),
    )


def signed_headers(secret: str, msg_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    signature = Webhook(secret).sign(msg_id, now, body.decode())
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


# --- one attempt ----------------------------------------------------------------------------


def deliver(services: WebhookServices, job_id: str) -> None:
    """Make one attempt of a job's webhook and record it (and when the next is due)."""
    record = services.jobs.get(job_id)
    if record is None or record.webhook_state != "pending" or not record.callback_url:
        services.jobs.record_webhook_attempt(job_id, {}, None)  # nothing owed: off the outbox
        return
    number = (record.webhook_attempts[-1].attempt if record.webhook_attempts else 0) + 1
    settings = services.settings
    started, at = time.monotonic(), utcnow()
    status_code: int | None = None
    refused = False
    try:
        event = build_event(services, record)
        body = _encoder.encode(event)
        secret = signing_secret(settings.token_secret, record.owner)
        msg_id = message_id(job_id, record.webhook_event or record.status)
        headers = signed_headers(secret, msg_id, body, datetime.now(UTC))
        addresses = public_addresses(record.callback_url, settings.webhook_allow_private_addresses)
        status_code = post(
            record.callback_url, addresses, body, headers, settings.webhook_timeout_seconds
        )
        error = None if 200 <= status_code < 300 else f"El receptor respondió HTTP {status_code}."
    except CallbackRefused as exc:
        refused, error = True, str(exc)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        error = f"Sin respuesta del receptor: {_describe(exc)}."
    attempt = WebhookAttempt(
        attempt=number,
        at=at,
        duration_ms=int((time.monotonic() - started) * 1000),
        status_code=status_code,
        error=error,
    )
    give_up = refused or status_code == 410 or number > len(services.schedule)
    if error is None:
        state, next_due = "delivered", None
    elif give_up:
        state, next_due = "failed", None
    else:
        state, next_due = "pending", time.time() + services.schedule[number - 1]
    fields: dict[str, Any] = {
        "webhookState": state,
        "webhookAttempts": [*record.webhook_attempts, attempt][-WEBHOOK_LOG_LIMIT:],
        "webhookNextAttemptAt": (
            None if next_due is None else at + timedelta(seconds=next_due - time.time())
        ),
    }
    services.jobs.record_webhook_attempt(job_id, fields, next_due)
    log.info(
        "webhook_" + ("delivered" if state == "delivered" else f"attempt_{state}"),
        job_id=job_id,
        attempt=number,
        status_code=status_code,
        duration_ms=attempt.duration_ms,
        url=shown_url(record.callback_url),
        error=error,
    )


def post(
    url: str, addresses: list[str], body: bytes, headers: dict[str, str], timeout: float
) -> int:
    """POST ``body`` to ``url``, connecting to one of ``addresses`` (those just checked,
    so a name that changes its answer after the check is not followed); the answer's
    status. Redirects are not followed. Raises what the last address raised."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if parts.port is None else f"{shown_host}:{port}"
    last: Exception | None = None
    for address in addresses[:4]:
        pool: urllib3.HTTPConnectionPool
        options: dict[str, Any] = {
            "timeout": urllib3.Timeout(connect=timeout, read=timeout),
            "retries": False,
            "maxsize": 1,
        }
        if https:
            pool = urllib3.HTTPSConnectionPool(
                address, port, server_hostname=host, assert_hostname=host, **options
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, **options)
        try:
            response = pool.urlopen(
                "POST",
                target,
                body=body,
                headers={**headers, "host": host_header},
                redirect=False,
                assert_same_host=False,
                preload_content=False,
            )
            response.read(MAX_ANSWER_BYTES)
            response.release_conn()
            return int(response.status)
        except (
            urllib3.exceptions.NewConnectionError,
            urllib3.exceptions.ConnectTimeoutError,
        ) as exc:
            last = exc  # the next address may answer
        finally:
            pool.close()
    raise last or OSError("no address to connect to")


def _describe(exc: BaseException) -> str:
    """An error in a few words: urllib3's last clause ("Connection refused", "Read timed
    out"), which names at most the address, never the URL's path or query."""
    return (str(exc).rsplit(": ", 1)[-1] or type(exc).__name__)[:200]


# --- the dispatcher and the actor -----------------------------------------------------------


def dispatch_due(services: WebhookServices, enqueue: Any) -> int:
    """Claim the webhooks due now and enqueue an attempt of each; how many."""
    due = services.jobs.claim_due_webhooks(time.time(), services.lease_seconds)
    for job_id in due:
        enqueue(job_id)
    return len(due)


def _dispatch_forever(services: WebhookServices, enqueue: Any) -> None:
    while True:
        try:
            dispatch_due(services, enqueue)
        except Exception as exc:  # Redis or RabbitMQ away: what is due stays due
            log.warning("webhook_dispatch_failed", error=str(exc))
            time.sleep(2.0)
        time.sleep(DISPATCH_EVERY_SECONDS)


def create_webhook_broker(services: WebhookServices) -> RabbitmqBroker:
    """A RabbitMQ broker with the delivery actor on the webhooks queue."""
    settings = services.settings
    broker = RabbitmqBroker(
        url=settings.amqp_url,
        confirm_delivery=True,
        middleware=[
            AgeLimit(),
            TimeLimit(time_limit=int(services.lease_seconds * 1000)),
            ShutdownNotifications(),
            CurrentMessage(),
        ],
    )
    dramatiq.set_broker(broker)
    broker.declare_queue(settings.names.webhook_queue)

    def deliver_webhook(job_id: str) -> None:
        deliver(services, job_id)

    # No Retries middleware: a failed attempt is not an error of the actor (the schedule is
    # in Redis), and an attempt that raised is due again when its claim's lease ends.
    dramatiq.actor(
        actor_name=WEBHOOK_ACTOR, queue_name=settings.names.webhook_queue, broker=broker
    )(deliver_webhook)
    return broker


def setup() -> None:
    """What the dramatiq CLI imports in each webhook worker process."""
    settings = worker_settings.load_webhooks()
    configure_logging(settings.log_level, settings.log_format)
    services = WebhookServices.from_settings(settings)
    broker = create_webhook_broker(services)
    actor = broker.get_actor(WEBHOOK_ACTOR)
    threading.Thread(
        target=_dispatch_forever,
        args=(services, actor.send),
        name="webhook-dispatcher",
        daemon=True,
    ).start()
    log.info("webhook_worker_ready", queue=settings.names.webhook_queue)
