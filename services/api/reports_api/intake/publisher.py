"""Puts job messages on RabbitMQ with publisher confirms, off the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pika.exceptions
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.errors import DramatiqError

from reports_shared.constants import Lane, Names
from reports_shared.errors import BrokerUnavailable
from reports_shared.messages import JobMessage, to_dramatiq

#: How often an idle connection does its I/O. A pika BlockingConnection answers RabbitMQ's
#: heartbeats only while it is used, and RabbitMQ drops one silent for a few heartbeat
#: intervals (60 s by default): each connection is used at least this often.
KEEPALIVE_SECONDS = 10.0

_ERRORS = (DramatiqError, pika.exceptions.AMQPError, OSError)


class Publisher:
    """Enqueues build messages; a confirmed publish means RabbitMQ holds the message."""

    def __init__(
        self,
        amqp_url: str,
        names: Names,
        threads: int = 2,
        keepalive_seconds: float = KEEPALIVE_SECONDS,
    ) -> None:
        # Dramatiq's broker keeps one connection per thread: a small fixed set of threads
        # keeps the connection count small and steady. Each thread is an executor of its
        # own, so that the keep-alive reaches every connection on the connection's own
        # thread (pika's connections are not thread-safe).
        self.broker = RabbitmqBroker(url=amqp_url, confirm_delivery=True, middleware=[])
        self.names = names
        self._threads = [
            ThreadPoolExecutor(1, thread_name_prefix=f"publisher-{n}") for n in range(threads)
        ]
        #: Calls under way or waiting, by thread (read and written on the event loop only).
        self._queued = [0] * threads
        self._keepalive_seconds = keepalive_seconds
        self._keeper: threading.Thread | None = None
        self._closed = threading.Event()
        for lane in Lane:
            self.broker.declare_queue(names.queue(lane))

    async def publish(self, message: JobMessage) -> None:
        """Enqueue one message, or raise BrokerUnavailable."""
        await self._run(self._publish, message)

    def _publish(self, message: JobMessage) -> None:
        try:
            self.broker.enqueue(to_dramatiq(message, self.names))
        except _ERRORS as exc:
            raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc

    async def ping(self) -> None:
        """Raise BrokerUnavailable unless RabbitMQ answers."""
        await self._run(self._ping)

    def _ping(self) -> None:
        # A connection found dead (dropped while idle, RabbitMQ restarted) is replaced once
        # before RabbitMQ is said to be unavailable.
        for last in (False, True):
            try:
                self.broker.connection.process_data_events(0)
                return
            except _ERRORS as exc:
                del self.broker.connection
                if last:
                    raise BrokerUnavailable(str(exc) or type(exc).__name__) from exc

    async def _run(self, call: Callable[..., None], *args: object) -> None:
        """``call`` on the publisher thread with the fewest calls waiting."""
        if self._keeper is None:  # in the server process, once it serves (not before a fork)
            self._keeper = threading.Thread(
                target=self._keep_alive, name="publisher-keepalive", daemon=True
            )
            self._keeper.start()
        chosen = self._queued.index(min(self._queued))
        self._queued[chosen] += 1
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._threads[chosen], call, *args)
        finally:
            self._queued[chosen] -= 1

    def _keep_alive(self) -> None:
        """Until closed: have each publisher thread do its connection's I/O now and then."""
        while not self._closed.wait(self._keepalive_seconds):
            for thread in self._threads:
                try:
                    thread.submit(self._tick)
                except RuntimeError:  # shut down meanwhile
                    return

    def _tick(self) -> None:
        """Answer RabbitMQ's heartbeats on this thread's connection, if it has one (none is
        opened here: that waits for a publish)."""
        connection = getattr(self.broker.state, "connection", None)
        if connection is None:
            return
        try:
            connection.process_data_events(0)
        except _ERRORS:  # pika has logged the loss (a warning, see reports_shared.logs)
            del self.broker.connection  # the next publish opens another

    def close(self) -> None:
        """Close connections and threads."""
        self._closed.set()
        for thread in self._threads:
            thread.shutdown(wait=False)
        self.broker.close()
