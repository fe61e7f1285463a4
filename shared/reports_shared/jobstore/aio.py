"""The job store's asyncio client (the api): the same record layout and scripts as the sync one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

import msgspec
import redis.asyncio as aioredis

from ..constants import JobStatus, Lane, Names
from ..eta import FIGURES_FIELDS, EstimateInputs, JobFigures, RunSample
from ..jobs import SUMMARY_FIELDS, JobRecord, JobSummary
from . import records
from .connection import ASYNC_TIMEOUTS, connect, unavailable_on_error
from .records import secret_hash

_sample_decoder = msgspec.json.Decoder(RunSample)

#: How long the report-type catalog read from Redis is trusted.
CATALOG_TTL_SECONDS = 5.0


#: Idle connections ``get_stored`` keeps for the next reads; one more is closed when its read
#: ends. A burst opens one per concurrent read, as redis-py's pool does, which keeps them all.
DIRECT_KEPT = 64


class AsyncJobStore:
    """Create and read job records; resolve tokens and idempotency keys."""

    def __init__(self, client: aioredis.Redis, names: Names) -> None:
        self.client = client
        self.names = names
        self._create = client.register_script(records.CREATE_SCRIPT)
        self._delete = client.register_script(records.DELETE_SCRIPT)
        self._transition = client.register_script(records.TRANSITION_SCRIPT)
        self._claim_key = client.register_script(records.CLAIM_KEY_SCRIPT)
        self._settle_key = client.register_script(records.SETTLE_KEY_SCRIPT)
        self._catalog: dict[str, str] = {}
        self._options: dict[str, dict[str, list[str]]] = {}
        self._display_names: dict[str, str] = {}
        self._catalog_read_at = 0.0
        #: Idle connections of ``get_stored``; none kept once the store is closed.
        self._direct: list[aioredis.Connection] = []
        self._closed = False

    @classmethod
    def from_url(cls, url: str, names: Names) -> AsyncJobStore:
        """A store on the Redis at ``url``."""
        return cls(connect(aioredis.Redis, url, ASYNC_TIMEOUTS), names)

    async def ping(self) -> None:
        """Raise JobStoreUnavailable unless Redis answers."""
        await self._do(self.client.ping())

    async def create(self, record: JobRecord) -> None:
        """Store a new record with its indexes."""
        keys, args = records.create_call(self.names, record)
        await self._do(self._create(keys=keys, args=args))

    async def mark_enqueued(self, job_id: str, moment: datetime) -> None:
        """Note that RabbitMQ confirmed the job's message."""
        name, value = records.encode_fields({"enqueuedAt": moment})
        await self._do(self.client.hset(self.names.job(job_id), name, value))

    async def transition(
        self,
        record: JobRecord,
        allowed: AbstractSet[JobStatus],
        status: JobStatus,
        fields: Mapping[str, Any],
        score: float = 0.0,
    ) -> None:
        """Move a job into ``status`` and set ``fields`` if its status allows, atomically
        (see :meth:`reports_shared.jobstore.sync.JobStore.transition`); the api makes no
        change inside a worker's run, so none is fenced. Raises TransitionRefused."""
        keys, args = records.transition_call(
            self.names, record.job_id, record.lane, allowed, status, score, fields
        )
        records.check_transition(await self._do(self._transition(keys=keys, args=args)), record)

    async def delete(self, job_id: str) -> None:
        """Remove a record and its index entries (undo of a failed submission)."""
        # The owner is set once, at creation: read before the script, it cannot go stale.
        raw = await self._do(self.client.hget(self.names.job(job_id), "owner"))
        keys = records.delete_keys(self.names, job_id, records.decode_value(raw) if raw else "")
        await self._do(self._delete(keys=keys, args=[job_id]))

    async def get(self, job_id: str) -> JobRecord | None:
        """The record of a job, or None."""
        return records.decode_record(await self.get_stored(job_id))

    async def get_stored(self, job_id: str) -> dict[bytes, bytes]:
        """A job's hash as stored (empty when there is no such job): for a caller that
        keeps what it decoded from the last one it read.

        The api's hottest read (every status): HGETALL on a connection kept for it, past
        the client's pool and command bookkeeping (two locks, events and metrics per
        command: a status took ~80 µs less CPU without them in-process, ~340 -> ~260 µs),
        retried as the client retries.
        """
        key = self.names.job(job_id).encode()
        command = b"*2\r\n$7\r\nHGETALL\r\n$%d\r\n%s\r\n" % (len(key), key)
        connection = self._direct.pop() if self._direct else self._direct_connection()
        try:
            with unavailable_on_error():
                answer = await connection.retry.call_with_retry(
                    lambda: _ask(connection, command), lambda _error: connection.disconnect()
                )
        finally:
            # One that failed is closed: the next read opens it again. A read that ends
            # after close() closes its connection rather than keep it, and so does one
            # past the DIRECT_KEPT idle ones (a burst of reads leaves no crowd behind).
            if self._closed or len(self._direct) >= DIRECT_KEPT:
                await connection.disconnect()
            else:
                self._direct.append(connection)
        if isinstance(answer, dict):  # RESP3
            return answer
        return dict(zip(answer[::2], answer[1::2], strict=True))

    def _direct_connection(self) -> aioredis.Connection:
        """A connection of ``get_stored``'s own, made as the client's pool makes them."""
        pool = self.client.connection_pool
        connection: aioredis.Connection = pool.make_connection()  # type: ignore[no-untyped-call]
        return connection

    async def get_many(self, job_ids: list[str]) -> list[JobRecord]:
        """Records of several jobs, skipping those that are gone."""
        if not job_ids:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(self.names.job(job_id))
            answers = await self._do(pipe.execute())
        return [r for r in map(records.decode_record, answers) if r is not None]

    async def newest(
        self, index: str, before: tuple[float, str] | None, count: int
    ) -> list[tuple[str, float]]:
        """Up to ``count`` (job id, creation score) of a creation-scored index, newest first,
        after the position ``before`` (score, id) of an earlier answer."""
        if before is None:
            answer = await self._do(
                self.client.zrange(index, "+inf", "-inf", desc=True, withscores=True,
                                   byscore=True, offset=0, num=count)
            )  # fmt: skip
            return [(member.decode(), float(score)) for member, score in answer]
        score, job_id = before
        # Jobs created in the same millisecond share a score and come in descending id
        # order: read past those ties, then keep the ones after ``job_id``.
        ties = int(await self._do(self.client.zcount(index, score, score)))
        answer = await self._do(
            self.client.zrange(index, score, "-inf", desc=True, withscores=True,
                               byscore=True, offset=0, num=count + ties)
        )  # fmt: skip
        after = [
            (member.decode(), float(value))
            for member, value in answer
            if float(value) < score or member.decode() < job_id
        ]
        return after[:count]

    async def summaries(self, job_ids: list[str]) -> list[JobSummary | None]:
        """The filterable fields of several jobs (None for a job that is gone)."""
        if not job_ids:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(self.names.job(job_id), SUMMARY_FIELDS)
            answers = await self._do(pipe.execute())
        return [_summary(values) for values in answers]

    async def active_ids(self, limit: int = 1000) -> list[str]:
        """Ids of queued and processing jobs, oldest first."""
        members = await self._do(self.client.zrange(self.names.jobs_active, 0, limit - 1))
        return [m.decode() for m in members]

    async def queue_position(self, job_id: str, lane: Lane) -> int | None:
        """1-based position of a queued job in its lane."""
        rank = await self._do(self.client.zrank(self.names.jobs_queued(lane), job_id))
        return None if rank is None else int(rank) + 1

    async def estimate_inputs(self, limit: int = 1000) -> EstimateInputs:
        """The active jobs' figures, the lanes' samples and the caps, for the estimates (two
        round trips: the ids and samples, then the figures)."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.zrange(self.names.jobs_active, 0, limit - 1)
            for lane in Lane:
                pipe.lrange(self.names.eta_samples(lane), 0, -1)
            pipe.hgetall(self.names.eta_slots)
            ids, *lists, slots = await self._do(pipe.execute())
        active: list[JobFigures] = []
        if ids:
            async with self.client.pipeline(transaction=False) as pipe:
                for job_id in ids:
                    pipe.hmget(self.names.job(job_id.decode()), FIGURES_FIELDS)
                answers = await self._do(pipe.execute())
            active = [f for f in map(_figures, answers) if f is not None]
        return EstimateInputs(
            active=active,
            samples={lane: _samples(raw) for lane, raw in zip(Lane, lists, strict=True)},
            slots={k.decode(): int(v) for k, v in slots.items()},
        )

    async def mark_uploading(self, job_id: str, ttl_seconds: int) -> None:
        """Say that a payload is still streaming in, for ``ttl_seconds``."""
        await self._do(self.client.set(self.names.uploading(job_id), 1, ex=ttl_seconds))

    async def count_in_window(self, key: str, ttl_seconds: int) -> int:
        """Add one to a counter that lives ``ttl_seconds``; its new value."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl_seconds, nx=True)
            count, _ = await self._do(pipe.execute())
        return int(count)

    async def index_token(self, token: str, job_id: str, ttl_seconds: int) -> None:
        """Make a download token findable (by its hash) until ``ttl_seconds`` from now."""
        name = self.names.token(secret_hash(token))
        await self._do(self.client.set(name, job_id, ex=max(1, ttl_seconds), nx=True))

    async def job_for_token(self, token: str) -> str | None:
        """The job a download token belongs to."""
        value = await self._do(self.client.get(self.names.token(secret_hash(token))))
        return None if value is None else value.decode()

    async def job_for_idempotency_key(self, scope: str, key: str) -> str | None:
        """The job created earlier with this idempotency key."""
        value = await self._do(self.client.get(self.names.idempotency(secret_hash(scope + key))))
        return None if value is None else value.decode()

    async def claim_idempotency_key(self, scope: str, key: str, claim: str, ttl: int) -> str | None:
        """Take an idempotency key for a submission in progress (``claim``, for ``ttl``
        seconds) unless it is held: None once taken, else what holds it (a job id or
        another submission's claim)."""
        name = self.names.idempotency(secret_hash(scope + key))
        held = await self._do(self._claim_key(keys=[name], args=[claim, ttl]))
        return None if held is None else held.decode()

    async def settle_idempotency_key(
        self, scope: str, key: str, claim: str, value: str, ttl: int = 0
    ) -> None:
        """While ``claim`` holds the key: tie it to ``value`` for ``ttl`` seconds (a job id,
        or the claim itself to extend it), or let it go (``value`` empty)."""
        name = self.names.idempotency(secret_hash(scope + key))
        await self._do(self._settle_key(keys=[name], args=[claim, value, ttl]))

    async def report_types(self) -> dict[str, str]:
        """Report types the workers announced (name to description), cached briefly."""
        await self._read_catalog()
        return self._catalog

    async def report_options(self) -> dict[str, dict[str, list[str]]]:
        """Options of each report type the workers announced (option to allowed values,
        the default first); a type missing here was announced by a worker that predates
        them, and its options are checked by the worker alone."""
        await self._read_catalog()
        return self._options

    async def report_display_names(self) -> dict[str, str]:
        """The names people read of the report types the workers announced; a type
        missing here is shown by its name."""
        await self._read_catalog()
        return self._display_names

    async def _read_catalog(self) -> None:
        now = time.monotonic()
        if now - self._catalog_read_at <= CATALOG_TTL_SECONDS and self._catalog:
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self.names.report_types)
        pipe.hgetall(self.names.report_options)
        pipe.hgetall(self.names.report_display_names)
        types, options, shown = await self._do(pipe.execute())
        self._catalog = {k.decode(): v.decode() for k, v in types.items()}
        self._options = {k.decode(): json.loads(v) for k, v in options.items()}
        self._display_names = {k.decode(): v.decode() for k, v in shown.items()}
        self._catalog_read_at = now

    async def wait_finished(
        self, job_id: str, timeout: float, poll: float = 0.1
    ) -> JobRecord | None:
        """Poll a job until it is finished or ``timeout`` passes; its last record."""
        deadline = time.monotonic() + timeout
        record = await self.get(job_id)
        while record is not None and record.status in {JobStatus.QUEUED, JobStatus.PROCESSING}:
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(poll)
            record = await self.get(job_id)
        return record

    async def close(self) -> None:
        """Close the connections."""
        self._closed = True
        try:
            while self._direct:
                await self._direct.pop().disconnect()
        finally:
            await self.client.aclose()

    @staticmethod
    async def _do(awaitable: Any) -> Any:
        with unavailable_on_error():
            return await awaitable


async def _ask(connection: aioredis.Connection, command: bytes) -> Any:
    """Send one packed command on ``connection`` and read its answer."""
    await connection.send_packed_command(command)
    return await connection.read_response()


def _figures(values: list[bytes | None]) -> JobFigures | None:
    """A job's figures from HMGET's answer (None when the record is gone)."""
    fields = {
        name: records.decode_value(value)
        for name, value in zip(FIGURES_FIELDS, values, strict=True)
        if value is not None
    }
    return msgspec.convert(fields, JobFigures) if "status" in fields else None


def _samples(raw: list[bytes]) -> list[RunSample]:
    """A lane's samples as stored, skipping any that no longer decode."""
    samples = []
    for item in raw:
        try:
            samples.append(_sample_decoder.decode(item))
        except msgspec.DecodeError:
            continue
    return samples


def _summary(values: list[bytes | None]) -> JobSummary | None:
    """A summary from HMGET's answer (None when the record is gone)."""
    fields = {
        name: records.decode_value(value)
        for name, value in zip(SUMMARY_FIELDS, values, strict=True)
        if value is not None
    }
    return msgspec.convert(fields, JobSummary) if "status" in fields else None
