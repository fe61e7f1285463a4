"""Puts job messages on RabbitMQ with publisher confirms, off the event loop."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pika.exceptions
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.errors import DramatiqError

from reports_shared.constants import Lane, Names
from reports_shared.errors import BrokerUnavailable
from reports_shared.messages import JobMessage, to_dramatiq


class Publisher:
    """Enqueues build messages; a confirmed publish means RabbitMQ holds the message."""

    def __init__(self, amqp_url: str, names: Names, threads: int = 2) -> None:
        # Dramatiq's broker keeps one connection per thread: a small fixed pool of threads
        # keeps the connection count small and steady.
        self.broker = RabbitmqBroker(url=amqp_url, confirm_delivery=True, middleware=[])
        self.names = names
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="publisher")
        for lane in Lane:
            self.broker.declare_queue(names.queue(lane))

    async def publish(self, message: JobMessage) -> None:
        """Enqueue one message, or raise BrokerUnavailable."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._publish, message)

    def _publish(self, message: JobMessage) -> None:
        try:
            self.broker.enqueue(to_dramatiq(message, self.names))
        except (DramatiqError, pika.exceptions.AMQPError, OSError) as exc:
            raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc

    async def ping(self) -> None:
        """Raise BrokerUnavailable unless RabbitMQ answers."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._ping)

    def _ping(self) -> None:
        try:
            self.broker.connection.process_data_events(0)
        except (DramatiqError, pika.exceptions.AMQPError, OSError) as exc:
            del self.broker.connection
            raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc

    def close(self) -> None:
        """Close connections and threads."""
        self._executor.shutdown(wait=False)
        self.broker.close()
