"""Opening Redis, the same way for the sync and the asyncio client; its errors wrapped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

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
    retry = AsyncRetry(backoff, 3) if kind is aioredis.Redis else Retry(backoff, 3)
    return kind.from_url(
        url,
        socket_timeout=timeouts.socket,
        socket_connect_timeout=timeouts.connect,
        health_check_interval=15,
        retry=retry,
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ReadOnlyError],
    )


@contextmanager
def unavailable_on_error() -> Iterator[None]:
    """Redis errors inside the block, raised as JobStoreUnavailable (the one boundary)."""
    try:
        yield
    except RedisError as exc:
        raise JobStoreUnavailable(str(exc)) from exc
