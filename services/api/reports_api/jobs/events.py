"""Live job status as Server-Sent Events: ``GET /api/AsyncReports/events/{jobId}``.

Every change of a job record is PUBLISHed on the job's Redis channel (see
``TRANSITION_SCRIPT`` in ``reports_shared.jobstore.records``), whichever process made it,
so a stream served by any api replica hears every change. The message only says that
something changed: the stream re-reads the record and sends the same JSON as ``GET /status``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import suppress

import anyio
import msgspec
import structlog
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import ServerSentEvent, ServerSentEventMessage
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from reports_shared.constants import API_PREFIX, TERMINAL_STATUSES, JobStatus
from reports_shared.errors import JobStoreUnavailable

from ..access.keys import Principal
from ..openapi import problems
from ..state import Services
from .lookup import find_job, read_job, status_view

log = structlog.get_logger(__name__)

#: Name of the events the stream sends (``addEventListener("status", ...)`` in a browser).
EVENT_NAME = "status"
#: A comment line at least this often keeps proxies and load balancers from closing the stream.
KEEPALIVE_SECONDS = 15.0
#: Longest wait on the channel before the record is read again anyway: a queue position
#: moves without a message on this job's channel, and a message may be lost in a Redis blip.
RECHECK_SECONDS = 5.0
#: How long a browser's EventSource waits before reconnecting to a broken stream.
RETRY_MS = 3000

_encoder = msgspec.json.Encoder()


class JobEventsController(Controller):
    """A job's status, pushed as it changes."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @get(
        "/events/{job_id:str}",
        summary="Status changes of a job, as Server-Sent Events",
        media_type="text/event-stream",
        responses=problems(401, 404, 410, 503),
    )
    async def events(
        self,
        job_id: FromPath[str],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
    ) -> ServerSentEvent:
        """Events named ``status`` with the GET /status JSON, ending after a final status."""
        record = await find_job(services, job_id, principal)
        return ServerSentEvent(job_events(services, record.job_id))


async def job_events(services: Services, job_id: str) -> AsyncIterator[ServerSentEventMessage]:
    """The current state, then one event per change, until the job is finished."""
    pubsub = services.jobs.client.pubsub(ignore_subscribe_messages=True)
    try:
        # Subscribe before the first read, so no change falls between the two.
        await pubsub.subscribe(services.settings.names.job_events(job_id))
        last, written_at = b"", time.monotonic()
        while True:
            data, status = await _current(services, job_id)
            if data is None:
                return
            if data != last:
                yield ServerSentEventMessage(data=data.decode(), event=EVENT_NAME, retry=RETRY_MS)
                last, written_at = data, time.monotonic()
            if status in TERMINAL_STATUSES:
                return
            if time.monotonic() - written_at >= KEEPALIVE_SECONDS:
                # Beats that change nothing shown (a long record) send nothing: keep it open.
                yield ServerSentEventMessage(data=None, comment="keep-alive")
                written_at = time.monotonic()
            keepalive_due = written_at + KEEPALIVE_SECONDS - time.monotonic()
            await _wait_for_change(pubsub, min(RECHECK_SECONDS, max(0.0, keepalive_due)))
    except (RedisError, JobStoreUnavailable) as exc:
        # Headers are sent: the only way to tell the client is to end the stream; an
        # EventSource reconnects and gets the current state first.
        log.warning("job_events_broken", job_id=job_id, error=str(exc))
    finally:
        await _close(pubsub)


async def _current(services: Services, job_id: str) -> tuple[bytes | None, JobStatus | None]:
    """The job's status JSON (None once the record is gone) and its status."""
    record = await read_job(services, job_id)
    if record is None:
        return None, None
    view = await status_view(services, record)
    return _encoder.encode(view), record.status


async def _wait_for_change(pubsub: PubSub, timeout: float) -> None:
    """Return when the job changes, or after ``timeout`` seconds; a burst counts once."""
    if await pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout) is None:
        return
    # Several beats may be waiting: one read of the record answers them all.
    while await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0) is not None:
        pass


async def _close(pubsub: PubSub) -> None:
    """Give the connection back, even when the client's disconnect cancelled the stream."""
    with anyio.move_on_after(2.0, shield=True), suppress(RedisError, OSError):
        # Disconnecting drops the subscription too.
        await pubsub.aclose()  # type: ignore[no-untyped-call]
