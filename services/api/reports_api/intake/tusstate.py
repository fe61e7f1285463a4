"""Where a tus upload stands, in Redis, so that any api replica can take its next PATCH.

Bytes live in storage: whole S3 parts in the upload's multipart upload, the rest (less than
one part) in a small "tail" object named by the offset it ends at. A new tail is written
before the state names it and the old one deleted after, so a replica that dies mid-PATCH
leaves the state pointing at bytes that exist (the offset falls back; the client resends).

Beside each state, a tombstone (``{state}:gone``, holding the owner's key name) outlives it
by GONE_SECONDS: once the state expired (and the janitor cleared its bytes), the upload's
owner is told 410 Gone rather than 404 for that long. Termination removes both (404 after).
An upload that became a job has no tombstone (410 would tell its client to send the file
again, making a second job): its state, naming the job, is kept GONE_SECONDS longer instead.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import UTC, datetime, timedelta

import msgspec
import redis.asyncio as aioredis

from reports_shared.constants import Names
from reports_shared.jobstore.connection import RELEASE_SCRIPT, unavailable_on_error


class TusUpload(msgspec.Struct, kw_only=True):
    """One tus upload: whose, how long, how far, and where its bytes are."""

    upload_id: str
    owner: str
    length: int
    #: Bytes stored so far: the parts' and the tail's.
    offset: int = 0
    #: The S3 multipart upload ("" until the first part is stored).
    s3_upload_id: str = ""
    etags: list[str] = msgspec.field(default_factory=list)
    #: Object holding the bytes past the last whole part ("": none).
    tail_key: str = ""
    tail_size: int = 0
    #: Upload-Metadata as sent (reportType, userName, options...), checked at creation.
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    idempotency_key: str = ""
    expires_at: datetime
    #: The job the finished upload became ("" until then).
    job_id: str = ""

    @property
    def parts_bytes(self) -> int:
        """Bytes in whole parts (the offset less the tail)."""
        return self.offset - self.tail_size


#: How long past its expiry an upload still answers 410 Gone to its owner (then 404).
GONE_SECONDS = 7 * 24 * 3600

#: Save a state and its tombstone (none: delete it), if ARGV[5] is "" or still holds the lock.
_PUT = """
if ARGV[5] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[5] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if ARGV[3] == '' then redis.call('DEL', KEYS[2])
else redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4]) end
return 1
"""

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(TusUpload)


def tail_key(upload_id: str, start: int, end: int) -> str:
    """The tail object holding bytes ``start``..``end`` of an upload."""
    return f"{upload_prefix(upload_id)}{start}-{end}"


def upload_prefix(upload_id: str) -> str:
    """Objects of an upload besides its multipart upload (its tails)."""
    return f"tus/{upload_id}/"


class TusStates:
    """Read, write and lock tus upload states."""

    def __init__(self, client: aioredis.Redis, names: Names, expiry_seconds: int) -> None:
        self.client = client
        self.prefix = names.tus_upload("")
        self.expiry_seconds = expiry_seconds
        self._put = client.register_script(_PUT)
        self._release = client.register_script(RELEASE_SCRIPT)

    def next_expiry(self) -> datetime:
        """When an upload touched now expires."""
        return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=self.expiry_seconds)

    async def get(self, upload_id: str) -> TusUpload | None:
        """The state of an upload, or None (unknown or expired)."""
        with unavailable_on_error():
            raw = await self.client.get(self.prefix + upload_id)
        return _decoder.decode(raw) if raw else None

    async def put(self, upload: TusUpload, token: str | None = None) -> bool:
        """Save a state; it lives until the upload expires. A finished upload (a job) has no
        tombstone: it never answers 410, its state names its job until it expires.

        With ``token`` (a request's lock), only while that request still holds the upload:
        False, and nothing written, once it does not (a termination took it), so a request
        never brings a terminated upload back."""
        ttl = max(1, int((upload.expires_at - datetime.now(UTC)).total_seconds()))
        name = self.prefix + upload.upload_id
        tombstone = "" if upload.job_id else upload.owner
        with unavailable_on_error():
            saved = await self._put(
                keys=[name, f"{name}:gone", f"{name}:lock"],
                args=[_encoder.encode(upload), ttl, tombstone, ttl + GONE_SECONDS, token or ""],
            )
        return bool(saved)

    async def delete(self, upload_id: str) -> None:
        """Forget an upload, its tombstone too (unknown from now on: 404)."""
        name = self.prefix + upload_id
        with unavailable_on_error():
            await self.client.delete(name, f"{name}:gone")

    async def expired(self, upload_id: str, owner: str) -> bool:
        """Whether this owner had an upload with this id that expired (up to GONE_SECONDS
        ago): its tombstone is left, its state is not."""
        name = self.prefix + upload_id
        with unavailable_on_error():
            found = await self.client.get(f"{name}:gone")
            return found == owner.encode() and not await self.client.exists(name)

    async def lock(self, upload_id: str, seconds: int) -> str | None:
        """Take the upload for one request (one PATCH at a time); a token, or None if taken."""
        token = secrets.token_hex(8)
        with unavailable_on_error():
            taken = await self.client.set(
                f"{self.prefix}{upload_id}:lock", token, ex=seconds, nx=True
            )
        return token if taken else None

    async def lock_waiting(self, upload_id: str, seconds: int, wait: float) -> str | None:
        """Take the upload, waiting up to ``wait`` seconds for the request holding it."""
        deadline = time.monotonic() + wait
        while (token := await self.lock(upload_id, seconds)) is None:
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.1)
        return token

    async def wait_unlocked(self, upload_id: str, wait: float) -> bool:
        """Wait up to ``wait`` seconds while a request holds the upload, without taking it
        (a PATCH arriving meanwhile is not refused); whether one held it."""
        deadline = time.monotonic() + wait
        held = False
        while True:
            with unavailable_on_error():
                locked = await self.client.exists(f"{self.prefix}{upload_id}:lock")
            if not locked or time.monotonic() >= deadline:
                return held
            held = True
            await asyncio.sleep(0.05)

    async def unlock(self, upload_id: str, token: str) -> None:
        """Let the upload go, if this request still holds it (in one step: a lock that
        expired and was taken meanwhile stays its new holder's)."""
        with unavailable_on_error():
            await self._release(keys=[f"{self.prefix}{upload_id}:lock"], args=[token])
