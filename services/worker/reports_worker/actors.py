"""The broker and the build actor, created by a factory (nothing runs at import)."""

from __future__ import annotations

import random
import time
from typing import Any

import dramatiq
import structlog
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from dramatiq.middleware.prometheus import Prometheus

from reports_shared.constants import BUILD_ACTOR, Lane
from reports_shared.errors import JobStoreUnavailable
from reports_shared.messages import from_dramatiq_args

from .runner import NoSlot, WaitForDependency, fail_waiting, run_job
from .services import Services

log = structlog.get_logger(__name__)

#: How long a message waits before it asks again for a slot (ms, with jitter).
SLOT_WAIT_MS = (500, 2000)
#: How long a message waits before it tries an unreachable dependency again (ms).
DEPENDENCY_WAIT_MS = (2000, 5000)
#: Message option: when the job began waiting for storage or Redis (epoch seconds).
WAITING_SINCE = "dependency_wait_since"


def create_broker(services: Services) -> RabbitmqBroker:
    """A RabbitMQ broker with the middleware long report jobs need, and the build actor."""
    settings = services.settings
    time_limit_ms = settings.job_time_limit_seconds * 1000
    broker = RabbitmqBroker(
        url=settings.amqp_url,
        confirm_delivery=True,
        middleware=[
            AgeLimit(),
            TimeLimit(time_limit=time_limit_ms),
            ShutdownNotifications(),
            Callbacks(),
            Pipelines(),
            Retries(max_retries=settings.max_retries, min_backoff=2_000, max_backoff=60_000),
            CurrentMessage(),
            *([Prometheus()] if settings.worker_metrics_port else []),
        ],
    )
    dramatiq.set_broker(broker)
    for lane in Lane:
        broker.declare_queue(settings.names.queue(lane))
    _register(broker, services)
    return broker


def _register(broker: RabbitmqBroker, services: Services) -> None:
    max_retries = services.settings.max_retries

    def build_report(payload: dict[str, Any]) -> None:
        message = from_dramatiq_args(payload)
        current = CurrentMessage.get_current_message()
        retries = int(current.options.get("retries", 0)) if current else 0
        try:
            run_job(services, message, retries=retries, last_try=retries >= max_retries)
        except WaitForDependency:
            _wait_for_dependency(broker, services, current, message.job_id)
        except NoSlot:
            if current is not None:
                current.options.pop(WAITING_SINCE, None)
            _wait_for_slot(broker, current)

    # One actor, consumed from both lanes: the message's queue decides the lane.
    dramatiq.actor(
        actor_name=BUILD_ACTOR,
        queue_name=services.settings.names.queue(Lane.SMALL),
        broker=broker,
        max_retries=max_retries,
    )(build_report)


def _wait_for_slot(
    broker: RabbitmqBroker,
    current: dramatiq.Message[Any] | None,
    delay_ms: tuple[int, int] = SLOT_WAIT_MS,
) -> None:
    """Put the message back with a short delay: waiting is not a failure, costs no retry."""
    if current is None:
        raise RuntimeError("CurrentMessage middleware is required")
    broker.enqueue(current, delay=random.randint(*delay_ms))


def _wait_for_dependency(
    broker: RabbitmqBroker, services: Services, current: dramatiq.Message[Any] | None, job_id: str
) -> None:
    """Wait for storage or Redis like for a slot, for at most ``dependency_wait_seconds``
    in all (counted in the message, across its re-enqueued copies); then fail the job."""
    if current is None:
        raise RuntimeError("CurrentMessage middleware is required")
    since = float(current.options.setdefault(WAITING_SINCE, time.time()))
    limit = services.settings.dependency_wait_seconds
    if time.time() - since > limit:
        reason = (
            f"El almacenamiento o el registro de trabajos no estuvieron disponibles durante "
            f"más de {limit // 60 or 1} min; el trabajo no se pudo completar."
        )
        try:
            fail_waiting(services, job_id, reason)
        except JobStoreUnavailable:
            log.warning("job_wait_limit_unrecorded", job_id=job_id)  # Redis away: next time
        else:
            log.info("job_wait_limit_reached", job_id=job_id, seconds=limit)
            return
    _wait_for_slot(broker, current, DEPENDENCY_WAIT_MS)
