"""How a job record is laid out in Redis, and the scripts that change it atomically.

Each attribute of :class:`JobRecord` is one hash field holding its JSON encoding, so one
attribute can change without rewriting the others, and scripts compare statuses exactly.
The same scripts serve the sync client (worker, janitor) and the async one (api).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from ..constants import ACTIVE_STATUSES, TERMINAL_STATUSES, JobStatus, Lane, Names
from ..errors import RunFenced, TransitionRefused
from ..jobs import JobRecord

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def secret_hash(secret: str) -> str:
    """SHA-256 of a token or key, the only form in which secrets are stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def encode_fields(fields: Mapping[str, Any]) -> list[bytes]:
    """Flatten camelCase field values into HSET arguments (name, JSON value, ...)."""
    out: list[bytes] = []
    for name, value in fields.items():
        out.append(name.encode())
        out.append(_encoder.encode(value))
    return out


def record_fields(record: JobRecord) -> dict[str, Any]:
    """A record as a mapping of camelCase field name to plain value."""
    return msgspec.to_builtins(record)  # type: ignore[no-any-return]


def decode_record(raw: Mapping[bytes, bytes]) -> JobRecord | None:
    """A record from HGETALL's answer, or None for a missing (empty) hash."""
    if not raw:
        return None
    values = {key.decode(): _decoder.decode(value) for key, value in raw.items()}
    return msgspec.convert(values, JobRecord)


#: What TRANSITION_SCRIPT answers when another run holds the job.
FENCED = b"FENCED"


def status_set(statuses: Iterable[JobStatus]) -> bytes:
    """Allowed statuses as the scripts take them: ``|"Queued"|"Processing"|``."""
    return b"|" + b"|".join(_encoder.encode(s.value) for s in statuses) + b"|"


def epoch(moment: datetime) -> float:
    """Seconds since the epoch, the score of every time index."""
    return moment.timestamp()


# KEYS: job, created, active, queued(lane)[, owner's]; ARGV: score, job id, field/value pairs...
# A job of the open api (no owner) has no owner's index: only operators list it.
CREATE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], ARGV[1], ARGV[2]) end
return 1
"""

# KEYS: job, active, queued(lane), expiry, webhooks due
# ARGV: allowed (|"A"|"B"|), new status (JSON), job id, score, kind, fence, field/value pairs...
# kind: "queued" (score = creation), "processing", "terminal" (score = expiry), "same".
# A job with a callback URL entering its final status (Completed, Failed, Cancelled; not
# Expired, which follows one of them) gets its webhook due now, in this same script: no
# final status is ever set without its webhook being owed (the outbox).
# fence: the run id (JSON) that must still hold the job, or '' for a change outside a run.
# Answers "OK"; the current status when it is not an allowed one; FENCED when another run
# holds the job now; false if the job is missing.
TRANSITION_SCRIPT = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return false end
if not string.find(ARGV[1], '|' .. current .. '|', 1, true) then return current end
if ARGV[6] ~= '' and redis.call('HGET', KEYS[1], 'runId') ~= ARGV[6] then return 'FENCED' end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
local kind = ARGV[5]
if kind == 'queued' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
elseif kind == 'processing' then
  redis.call('ZREM', KEYS[3], ARGV[3])
elseif kind == 'terminal' then
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[3])
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[3])
  local callback = redis.call('HGET', KEYS[1], 'callbackUrl')
  local state = redis.call('HGET', KEYS[1], 'webhookState')
  if ARGV[2] ~= '"Expired"' and callback and callback ~= '""' and callback ~= 'null'
      and (not state or state == '""') then
    redis.call('HSET', KEYS[1], 'webhookState', '"pending"', 'webhookEvent', ARGV[2])
    redis.call('ZADD', KEYS[5], redis.call('TIME')[1], ARGV[3])
  end
end
-- Live listeners (the api's event streams, on any replica) re-read the record.
redis.call('PUBLISH', KEYS[1] .. ':events', ARGV[2])
return 'OK'
"""

# KEYS: job, created, active, queued small, queued large, expiry, webhooks due[, owner's]
# ARGV: job id
DELETE_SCRIPT = """
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
"""


# KEYS: idempotency key; ARGV: claim, seconds. Takes an Idempotency-Key for a submission in
# progress unless it is held: answers what it holds (a job id or another request's claim),
# or false when the key is now this claim's, until it expires (a request killed midway
# never holds it for longer).
CLAIM_KEY_SCRIPT = """
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
"""

# KEYS: idempotency key; ARGV: claim, value ('' : remove), seconds. Changes the key only
# while this claim holds it (or nobody does, for a value): a claim that expired meanwhile
# never removes or overwrites another request's.
SETTLE_KEY_SCRIPT = """
local held = redis.call('GET', KEYS[1])
if held ~= ARGV[1] and (held or ARGV[2] == '') then return 0 end
if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""

# KEYS: webhooks due; ARGV: now, lease end, most to claim. Takes the webhooks due by now and
# pushes each one's due time to the lease's end: if its attempt never reports (the delivery
# worker died, its message was lost), it is due again then. Answers the job ids.
CLAIM_WEBHOOKS_SCRIPT = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id) end
return ids
"""

# KEYS: job, webhooks due; ARGV: job id, next attempt's score ('' : none), field/value pairs.
# Records an attempt on a job that still exists (a deleted job is not recreated) and sets
# when the next one is due, or takes the job off the outbox. Answers 1, or 0 if it is gone.
RECORD_WEBHOOK_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
end
return 1
"""


def transition_kind(status: JobStatus) -> str:
    """What a move into ``status`` does to the indexes."""
    if status == JobStatus.QUEUED:
        return "queued"
    if status == JobStatus.PROCESSING:
        return "processing"
    if status in TERMINAL_STATUSES:
        return "terminal"
    return "same"


def create_call(names: Names, record: JobRecord) -> tuple[list[str], list[Any]]:
    """Keys and arguments of CREATE_SCRIPT for a new record."""
    keys = [
        names.job(record.job_id),
        names.jobs_by_creation,
        names.jobs_active,
        names.jobs_queued(record.lane),
        *owner_keys(names, record.owner),
    ]
    args: list[Any] = [
        epoch(record.created_at),
        record.job_id,
        *encode_fields(record_fields(record)),
    ]
    return keys, args


def transition_call(
    names: Names,
    job_id: str,
    lane: Lane,
    allowed: Iterable[JobStatus],
    status: JobStatus,
    score: float,
    fields: Mapping[str, Any],
    fence: str | None = None,
) -> tuple[list[str], list[Any]]:
    """Keys and arguments of TRANSITION_SCRIPT (``fence``: the run that must hold the job)."""
    keys = [
        names.job(job_id),
        names.jobs_active,
        names.jobs_queued(lane),
        names.jobs_expiry,
        names.webhooks_due,
    ]
    args: list[Any] = [
        status_set(allowed),
        _encoder.encode(status.value),
        job_id,
        score,
        transition_kind(status),
        _encoder.encode(fence) if fence else b"",
        *encode_fields(fields),
    ]
    return keys, args


def check_transition(answer: Any, record: JobRecord) -> None:
    """Raise what TRANSITION_SCRIPT's answer means unless the move was made: RunFenced
    when another run holds the job, TransitionRefused (with the current status, None if
    the job is gone) when its status did not allow the move."""
    if answer == FENCED:
        raise RunFenced(record.job_id, record.status)
    if answer != b"OK":
        current = None if answer is None else JobStatus(decode_value(answer))
        raise TransitionRefused(record.job_id, current)


def delete_keys(names: Names, job_id: str, owner: str = "") -> list[str]:
    """Keys of DELETE_SCRIPT (``owner``: the record's, whose history the job leaves)."""
    return [
        names.job(job_id),
        names.jobs_by_creation,
        names.jobs_active,
        names.jobs_queued(Lane.SMALL),
        names.jobs_queued(Lane.LARGE),
        names.jobs_expiry,
        names.webhooks_due,
        *owner_keys(names, owner),
    ]


def owner_keys(names: Names, owner: str) -> list[str]:
    """The owner's history index, if the job has an owner (the open api's jobs have none)."""
    return [names.jobs_by_owner(owner)] if owner else []


__all__ = [
    "ACTIVE_STATUSES",
    "CLAIM_KEY_SCRIPT",
    "CLAIM_WEBHOOKS_SCRIPT",
    "CREATE_SCRIPT",
    "DELETE_SCRIPT",
    "RECORD_WEBHOOK_SCRIPT",
    "SETTLE_KEY_SCRIPT",
    "TRANSITION_SCRIPT",
    "create_call",
    "decode_record",
    "delete_keys",
    "encode_fields",
    "secret_hash",
    "transition_call",
]


def decode_value(raw: bytes | str) -> Any:
    """One field value as stored."""
    return _decoder.decode(raw)
