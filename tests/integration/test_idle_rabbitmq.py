"""Connections to RabbitMQ left idle: RabbitMQ drops a pika BlockingConnection that has not
answered its heartbeats, which it does only while it is used.

The api's publisher keeps its connections alive; a connection lost all the same is one
warning line, not pika's three errors with tracebacks; the readiness check replaces a dead
connection before it says RabbitMQ is unavailable. The connections here ask for a 1 s
heartbeat, so that RabbitMQ drops a silent one within seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import structlog
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from devstack.stack import forget_namespace
from reports_api.intake.publisher import Publisher
from reports_shared.constants import Lane, Names
from reports_shared.logs import configure_logging
from reports_shared.messages import JobMessage
from tests.support.infra import Infra
from tests.support.stacks import new_namespace

#: Longer than RabbitMQ takes to drop a connection silent with a 1 s heartbeat.
IDLE_SECONDS = 6


@pytest.fixture
def namespace(infra: Infra) -> Iterator[str]:
    namespace = new_namespace()
    yield namespace
    forget_namespace({"AR_NAMESPACE": namespace, **infra.env(namespace)})


@pytest.fixture
def app_logging() -> Iterator[None]:
    """The services' logging, and the test process's back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    pika_level = logging.getLogger("pika").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("pika").setLevel(pika_level)
    structlog.reset_defaults()


def quick_heartbeat(url: str) -> str:
    return url + ("&" if "?" in url else "?") + "heartbeat=1"


def message() -> JobMessage:
    return JobMessage(
        job_id=str(uuid.uuid4()), report_type="Demora", payload_key="p", lane=Lane.SMALL
    )


async def publish_on_every_thread(publisher: Publisher) -> None:
    await asyncio.gather(publisher.publish(message()), publisher.publish(message()))


def test_an_idle_publisher_keeps_its_connections(infra: Infra, namespace: str) -> None:
    # Given the api's publisher, each of its threads with a connection open
    publisher = Publisher(quick_heartbeat(infra.amqp_url), Names(namespace), keepalive_seconds=0.2)

    async def scenario() -> None:
        await publish_on_every_thread(publisher)
        opened = set(publisher.broker.connections)
        assert len(opened) == 2
        # When nothing is published for longer than RabbitMQ waits for a heartbeat
        await asyncio.sleep(IDLE_SECONDS)
        # Then the connections are still there, and serve the next messages
        assert all(connection.is_open for connection in opened)
        await publish_on_every_thread(publisher)
        assert set(publisher.broker.connections) == opened
        await publisher.ping()

    try:
        asyncio.run(scenario())
    finally:
        publisher.close()


def test_the_readiness_check_replaces_a_connection_rabbitmq_dropped(
    infra: Infra, namespace: str
) -> None:
    # Given a publisher whose connection RabbitMQ dropped while it was idle (no keep-alive)
    publisher = Publisher(
        quick_heartbeat(infra.amqp_url), Names(namespace), threads=1, keepalive_seconds=3600
    )

    async def scenario() -> None:
        await publisher.publish(message())
        dropped = set(publisher.broker.connections)
        await asyncio.sleep(IDLE_SECONDS)
        # Then the readiness check says RabbitMQ answers, on a new connection
        await publisher.ping()
        assert set(publisher.broker.connections).isdisjoint(dropped)

    try:
        asyncio.run(scenario())
    finally:
        publisher.close()


@pytest.mark.usefixtures("app_logging")
def test_a_connection_dropped_while_idle_is_one_warning_line(
    infra: Infra, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a service's logging and a broker (as the worker and webhooks service use) whose
    # connection RabbitMQ dropped while it was idle
    configure_logging("INFO", "json")
    broker = RabbitmqBroker(
        url=quick_heartbeat(infra.amqp_url), confirm_delivery=True, middleware=[]
    )
    queue = Names(namespace).queue(Lane.SMALL)
    broker.declare_queue(queue)
    sent: dramatiq.Message[object] = dramatiq.Message(
        queue_name=queue, actor_name="x", args=(), kwargs={}, options={}
    )
    try:
        broker.enqueue(sent)
        time.sleep(IDLE_SECONDS)
        capsys.readouterr()
        # When it publishes again
        broker.enqueue(sent)
    finally:
        broker.close()
    # Then the publish succeeds, and the log says so in one warning line, no traceback
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    assert '"level": "warning"' in lines[0] and "rabbitmq_connection_lost" in lines[0]
    assert "Traceback" not in lines[0]
