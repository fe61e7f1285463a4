"""The job store (Redis), synchronous client used by the worker and the janitor."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from . import records
from .constants import ACTIVE_STATUSES, JobStatus, Lane, Names
from .errors import JobStoreUnavailable, TransitionRefused
from .jobs import JobRecord


def secret_hash(secret: str) -> str:
    """SHA-256 of a token or key, the only form in which secrets are stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


class JobStore:
    """Create, read, change and index job records in Redis."""

    def __init__(self, client: redis.Redis, names: Names) -> None:
        self.client = client
        self.names = names
        self._create = client.register_script(records.CREATE_SCRIPT)
        self._transition = client.register_script(records.TRANSITION_SCRIPT)
        self._delete = client.register_script(records.DELETE_SCRIPT)

    @classmethod
    def from_url(cls, url: str, names: Names) -> JobStore:
        """A store on the Redis at ``url``, reconnecting by itself after outages."""
        client = redis.Redis.from_url(
            url,
            socket_timeout=10,
            socket_connect_timeout=5,
            health_check_interval=15,
            # A pooled connection is stale after a Redis restart: retry on a fresh one.
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        return cls(client, names)

    def ping(self) -> None:
        """Raise JobStoreUnavailable unless Redis answers."""
        try:
            self.client.ping()
        except RedisError as exc:
            raise JobStoreUnavailable(str(exc)) from exc

    def create(self, record: JobRecord) -> bool:
        """Store a new record; False if one with the same id exists."""
        keys, args = records.create_call(self.names, record)
        return bool(self._call(self._create, keys, args))

    def get(self, job_id: str) -> JobRecord | None:
        """The record of a job, or None."""
        try:
            raw = self.client.hgetall(self.names.job(job_id))
        except RedisError as exc:
            raise JobStoreUnavailable(str(exc)) from exc
        return records.decode_record(raw)  # type: ignore[arg-type]

    def transition(
        self,
        record: JobRecord,
        allowed: AbstractSet[JobStatus],
        status: JobStatus,
        fields: Mapping[str, Any],
        score: float = 0.0,
    ) -> None:
        """Move a job into ``status`` and set ``fields``, atomically, if its status allows.

        ``score`` is the creation time for a move back to Queued and the expiry time for a
        move into a terminal status. Raises TransitionRefused otherwise.
        """
        keys, args = records.transition_call(
            self.names, record.job_id, record.lane, allowed, status, score, fields
        )
        answer = self._call(self._transition, keys, args)
        if answer != b"OK":
            current = None if answer is None else JobStatus(records.decode_value(answer))
            raise TransitionRefused(record.job_id, current)

    def delete(self, job_id: str) -> None:
        """Remove a record and its index entries."""
        self._call(self._delete, records.delete_keys(self.names, job_id), [job_id])

    def active_ids(self) -> list[str]:
        """Ids of queued and processing jobs, oldest first."""
        return [m.decode() for m in self._read(self.client.zrange, self.names.jobs_active, 0, -1)]

    def iter_active(self) -> Iterator[JobRecord]:
        """Records of queued and processing jobs, oldest first."""
        for job_id in self.active_ids():
            record = self.get(job_id)
            if record is not None and record.status in ACTIVE_STATUSES:
                yield record

    def expired_ids(self, now: float, limit: int = 500) -> list[str]:
        """Ids of finished jobs whose results expired before ``now``."""
        members = self._read(
            self.client.zrangebyscore, self.names.jobs_expiry, "-inf", now, 0, limit
        )
        return [m.decode() for m in members]

    def queue_position(self, job_id: str, lane: Lane) -> int | None:
        """1-based position of a queued job in its lane, None if not queued."""
        rank = self._read(self.client.zrank, self.names.jobs_queued(lane), job_id)
        return None if rank is None else int(rank) + 1

    def publish_report_types(self, catalog: Mapping[str, str]) -> None:
        """Announce the report types this worker builds (name to description)."""
        if catalog:
            self._read(self.client.hset, self.names.report_types, mapping=dict(catalog))

    def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return script(keys=keys, args=args)
        except RedisError as exc:
            raise JobStoreUnavailable(str(exc)) from exc

    def _read(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except RedisError as exc:
            raise JobStoreUnavailable(str(exc)) from exc
