"""Connection checks for health probes: Redis, RabbitMQ and storage reachable."""

from __future__ import annotations

import pika
import structlog

from reports_shared.jobstore import JobStore
from reports_shared.objectstore import ObjectStore
from reports_shared.settings import CommonSettings

log = structlog.get_logger(__name__)


def check_connections(settings: CommonSettings) -> bool:
    """True when Redis, RabbitMQ and the bucket all answer."""
    ok = True
    try:
        JobStore.from_url(settings.redis_url, settings.names).ping()
        ObjectStore.from_settings(settings).ping()
        params = pika.URLParameters(settings.amqp_url)
        params.socket_timeout = 5
        pika.BlockingConnection(params).close()
    except Exception as exc:
        log.error("check_failed", error=str(exc))
        ok = False
    return ok
