"""A global cap on jobs in flight, made of leases that lapse on their own.

Dramatiq's ``ConcurrentRateLimiter`` keeps one counter with an expiry: a job longer than
the expiry lets extra jobs in, and a killed worker never gives its slot back. Here each
running job holds a lease (a member of a Redis sorted set scored by its expiry time) that
its heartbeat renews; a dead worker's lease lapses within the TTL and the slot is free.
Time comes from the Redis server, so worker clocks need not agree.
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

import redis
from dramatiq.rate_limits import RateLimiter
from redis.exceptions import RedisError

from reports_shared.errors import JobStoreUnavailable

#: This machine (a container's own name in a container), as its leases say.
HOST = socket.gethostname()

# KEYS: lease sets; ARGV: ttl ms, lease id, then one limit per key.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + tonumber(ARGV[1]), ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[1]) * 2)
end
return 1
"""

# Same arguments. Extends a held lease; takes it again if it lapsed and there is room.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = 1
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZSCORE', key, ARGV[2]) or redis.call('ZCARD', key) < tonumber(ARGV[2 + i]) then
    redis.call('ZADD', key, now + tonumber(ARGV[1]), ARGV[2])
    redis.call('PEXPIRE', key, tonumber(ARGV[1]) * 2)
  else
    held = 0
  end
end
return held
"""

# KEYS: lease sets; ARGV: lease id.
_RELEASE = """
for _, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[1]) end
return 1
"""

# KEYS: one lease set. The ids of its live leases.
_LIVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""

# KEYS: one lease set. Live leases.
_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], now, '+inf')
"""


class LeaseLimiter(RateLimiter):
    """Admits a job when every one of its lease sets has room; one instance per job."""

    def __init__(self, client: redis.Redis, limits: dict[str, int], ttl_seconds: float) -> None:
        super().__init__(None, ",".join(limits))  # type: ignore[no-untyped-call]
        self.client = client
        self.keys = list(limits)
        self.limits = [limits[key] for key in self.keys]
        self.ttl_ms = int(ttl_seconds * 1000)
        # The host first: a worker counts the builds running on its own machine.
        self.lease_id = f"{HOST}:{uuid.uuid4().hex}"
        self._acquire_script = client.register_script(_ACQUIRE)
        self._renew_script = client.register_script(_RENEW)
        self._release_script = client.register_script(_RELEASE)

    def _args(self) -> list[int | str]:
        return [self.ttl_ms, self.lease_id, *self.limits]

    def _acquire(self) -> bool:
        return bool(self._run(self._acquire_script, self._args()))

    def _release(self) -> None:
        self._run(self._release_script, [self.lease_id])

    def try_acquire(self) -> bool:
        """Take a slot if every lease set has room; held until release() or it lapses."""
        return self._acquire()

    def release(self) -> None:
        """Give the slot back."""
        self._release()

    def renew(self) -> bool:
        """Extend the lease by one TTL; False if it lapsed and the slot was taken meanwhile."""
        return bool(self._run(self._renew_script, self._args()))

    def running_here(self) -> int:
        """Jobs of this machine holding a slot of the first (global) set, this one included."""
        try:
            live = self.client.eval(_LIVE, 1, self.keys[0])
        except RedisError as exc:
            raise JobStoreUnavailable(str(exc)) from exc
        mine = f"{HOST}:".encode()
        return sum(1 for lease in live if bytes(lease).startswith(mine))

    def _run(self, script: Any, args: list[int | str]) -> Any:
        try:
            return script(keys=self.keys, args=args)
        except RedisError as exc:
            raise JobStoreUnavailable(str(exc)) from exc


def live_leases(client: redis.Redis, key: str) -> int:
    """Leases of a set that have not lapsed: the jobs running now."""
    return int(client.eval(_COUNT, 1, key))
