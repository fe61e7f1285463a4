"""Opening Redis, the same way for the sync and the asyncio client; its errors wrapped; the
release of a lock, for both (the report cache's and a tus upload's: neither is a job record's,
whose scripts are in :mod:`.records`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from ..errors import JobStoreUnavailable

Client = TypeVar("Client", redis.Redis, aioredis.Redis)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds a command and a connection attempt may take."""

    socket: float
    connect: float


#: Worker and janitor: a slow answer is worth waiting for.
SYNC_TIMEOUTS = Timeouts(socket=10, connect=5)
#: The api's requests: better a quick 503 than a client left hanging.
ASYNC_TIMEOUTS = Timeouts(socket=5, connect=3)


def connect(kind: type[Client], url: str, timeouts: Timeouts) -> Client:
    """A ``kind`` client (``redis.Redis`` or ``redis.asyncio.Redis``) of the Redis at ``url``."""
    # A pooled connection is stale after a Redis restart: retry on a fresh one. So is one
    # to a primary that a failover demoted (managed Redis, Sentinel behind one address):
    # it answers writes with READONLY, and a fresh connection reaches the new primary.
    backoff = ExponentialBackoff(cap=1.0, base=0.05)
    asynchronous = kind is aioredis.Redis
    retry = AsyncRetry(backoff, 3) if asynchronous else Retry(backoff, 3)
    # A rediss:// or unix:// URL names its own connection class, which wins over this one.
    lean: dict[str, Any] = {"connection_class": LeanConnection} if asynchronous else {}
    return kind.from_url(
        url,
        **lean,
        socket_timeout=timeouts.socket,
        socket_connect_timeout=timeouts.connect,
        health_check_interval=15,
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ReadOnlyError],
    )


class LeanConnection(aioredis.Connection):
    """redis-py's asyncio connection, writing a command in the caller's task.

    With a socket timeout, redis-py bounds every write by ``asyncio.wait_for``, which on
    Python 3.11 runs the write in a task of its own: a tenth of the CPU of the api's
    status (py-spy, 64 connections). ``asyncio.timeout`` bounds it the same way without
    one. Otherwise this is redis-py 8.1's ``send_packed_command``.
    """

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        """Write a packed command, within the socket timeout."""
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]  # redis-py's own
        if isinstance(command, str):
            command = command.encode()
        if isinstance(command, bytes):
            command = [command]
        try:
            async with asyncio.timeout(self.socket_timeout):
                self._writer.writelines(command)  # type: ignore[union-attr]  # connected above
                await self._writer.drain()  # type: ignore[union-attr]
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)
            number, message = ("UNKNOWN", exc.args[0]) if len(exc.args) == 1 else exc.args[:2]
            raise RedisConnectionError(
                f"Error {number} while writing to socket. {message}."
            ) from exc
        except BaseException:
            # A write cut short (cancelled) leaves the connection unusable.
            await self.disconnect(nowait=True)
            raise


@contextmanager
def unavailable_on_error() -> Iterator[None]:
    """Redis errors inside the block, raised as JobStoreUnavailable (the one boundary)."""
    try:
        yield
    except RedisError as exc:
        raise JobStoreUnavailable(str(exc)) from exc


#: Delete the lock KEYS[1] only while it holds ARGV[1], its holder's token (1 if deleted):
#: a holder whose lock expired and was taken by another never deletes the other's.
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
