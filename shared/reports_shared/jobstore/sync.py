"""The job store's synchronous client: the worker, the janitor and the api's cache hits."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import msgspec
import redis

from ..constants import ACTIVE_STATUSES, JobStatus, Lane, Names
from ..eta import SAMPLES_KEPT, SAMPLES_TTL_SECONDS, RunSample
from ..jobs import JobRecord
from . import records
from .connection import SYNC_TIMEOUTS, connect, unavailable_on_error


class JobStore:
    """Create, read, change and index job records in Redis."""

    def __init__(self, client: redis.Redis, names: Names) -> None:
        self.client = client
        self.names = names
        self._create = client.register_script(records.CREATE_SCRIPT)
        self._transition = client.register_script(records.TRANSITION_SCRIPT)
        self._delete = client.register_script(records.DELETE_SCRIPT)
        self._claim_webhooks = client.register_script(records.CLAIM_WEBHOOKS_SCRIPT)
        self._record_webhook = client.register_script(records.RECORD_WEBHOOK_SCRIPT)

    @classmethod
    def from_url(cls, url: str, names: Names) -> JobStore:
        """A store on the Redis at ``url``, reconnecting by itself after outages."""
        return cls(connect(redis.Redis, url, SYNC_TIMEOUTS), names)

    def ping(self) -> None:
        """Raise JobStoreUnavailable unless Redis answers."""
        with unavailable_on_error():
            self.client.ping()

    def create(self, record: JobRecord) -> bool:
        """Store a new record; False if one with the same id exists."""
        keys, args = records.create_call(self.names, record)
        return bool(self._call(self._create, keys, args))

    def get(self, job_id: str) -> JobRecord | None:
        """The record of a job, or None."""
        with unavailable_on_error():
            raw = self.client.hgetall(self.names.job(job_id))
        return records.decode_record(raw)  # type: ignore[arg-type]

    def transition(
        self,
        record: JobRecord,
        allowed: AbstractSet[JobStatus],
        status: JobStatus,
        fields: Mapping[str, Any],
        score: float = 0.0,
        fence: str | None = None,
    ) -> None:
        """Move a job into ``status`` and set ``fields``, atomically, if its status allows.

        ``score`` is the creation time for a move back to Queued and the expiry time for a
        move into a terminal status. ``fence`` is the run id of a worker's run: the change is
        made only while that run still holds the job (RunFenced otherwise). Raises
        TransitionRefused when the status does not allow it.
        """
        keys, args = records.transition_call(
            self.names, record.job_id, record.lane, allowed, status, score, fields, fence
        )
        records.check_transition(self._call(self._transition, keys, args), record)

    def standing(self, job_id: str) -> tuple[JobStatus | None, str | None]:
        """A job's status and the run holding it (None, None when it is gone): one cheap
        read, for a run that watches whether its job is still its own."""
        with unavailable_on_error():
            status, run_id = self.client.hmget(self.names.job(job_id), ["status", "runId"])
        return (
            None if status is None else JobStatus(records.decode_value(status)),
            None if run_id is None else records.decode_value(run_id),
        )

    def delete(self, job_id: str) -> None:
        """Remove a record and its index entries."""
        # The owner is set once, at creation: read before the script, it cannot go stale.
        owner = self._read(self.client.hget, self.names.job(job_id), "owner")
        keys = records.delete_keys(self.names, job_id, records.decode_value(owner) if owner else "")
        self._call(self._delete, keys, [job_id])

    def leave_history(self, record: JobRecord) -> None:
        """Take an expired job out of the creation and owner's indexes (the job history)."""
        with unavailable_on_error(), self.client.pipeline(transaction=True) as pipe:
            pipe.zrem(self.names.jobs_by_creation, record.job_id)
            for key in records.owner_keys(self.names, record.owner):
                pipe.zrem(key, record.job_id)
            pipe.execute()

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

    def publish_report_types(
        self,
        catalog: Mapping[str, str],
        options: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        display_names: Mapping[str, str] | None = None,
    ) -> None:
        """Announce the report types this worker builds (name to description), the
        options each takes (name to allowed values, the default first) and the names
        people read."""
        if not catalog:
            return
        with unavailable_on_error(), self.client.pipeline(transaction=False) as pipe:
            types: dict[Any, Any] = dict(catalog)
            pipe.hset(self.names.report_types, mapping=types)
            if options:
                encoded: dict[Any, Any] = {n: json.dumps(dict(v)) for n, v in options.items()}
                pipe.hset(self.names.report_options, mapping=encoded)
            if display_names:
                shown: dict[Any, Any] = dict(display_names)
                pipe.hset(self.names.report_display_names, mapping=shown)
            pipe.execute()

    def add_run_sample(self, lane: Lane, sample: RunSample, slots: Mapping[str, int]) -> None:
        """Record a finished build of ``lane`` and the caps it ran under, for the status's
        estimates (the lane keeps its latest SAMPLES_KEPT, for SAMPLES_TTL_SECONDS)."""
        key = self.names.eta_samples(lane)
        with unavailable_on_error(), self.client.pipeline(transaction=False) as pipe:
            pipe.lpush(key, msgspec.json.encode(sample))
            pipe.ltrim(key, 0, SAMPLES_KEPT - 1)
            pipe.expire(key, SAMPLES_TTL_SECONDS)
            caps: dict[Any, Any] = dict(slots)
            pipe.hset(self.names.eta_slots, mapping=caps)
            pipe.expire(self.names.eta_slots, SAMPLES_TTL_SECONDS)
            pipe.execute()

    def index_token(self, token: str, job_id: str, ttl_seconds: int) -> None:
        """Make a download token findable (by its hash) until ``ttl_seconds`` from now."""
        name = self.names.token(records.secret_hash(token))
        self._read(self.client.set, name, job_id, ex=max(1, ttl_seconds), nx=True)

    def claim_due_webhooks(self, now: float, lease_seconds: float, limit: int = 100) -> list[str]:
        """Ids of jobs whose webhook is due by ``now``, each claimed for ``lease_seconds``
        (due again then unless its attempt reports first)."""
        answer = self._call(
            self._claim_webhooks, [self.names.webhooks_due], [now, now + lease_seconds, limit]
        )
        return [i.decode() if isinstance(i, bytes) else str(i) for i in answer]

    def record_webhook_attempt(
        self, job_id: str, fields: Mapping[str, Any], next_due: float | None
    ) -> bool:
        """Set a job's webhook fields after an attempt and when the next is due (None: no
        more attempts); False if the job is gone (it is then off the outbox)."""
        keys = [self.names.job(job_id), self.names.webhooks_due]
        args = [job_id, "" if next_due is None else next_due, *records.encode_fields(fields)]
        return bool(self._call(self._record_webhook, keys, args))

    def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        with unavailable_on_error():
            return script(keys=keys, args=args)

    def _read(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        with unavailable_on_error():
            return method(*args, **kwargs)
