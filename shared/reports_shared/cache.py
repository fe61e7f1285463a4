"""The temporary report cache: an identical submission reuses a recent ZIP.

Identical means the same report type, the same options and the same dataset bytes (by the
SHA-256 taken while the payload was ingested), sent by the same owner (API key name): one
client never learns from the cache what another sent, unless the operator shares it across
clients (``AR_CACHE_SHARED_ACROSS_CLIENTS``). Entries live ``ttl`` seconds and the cache
holds at most ``cap_bytes`` of ZIPs, evicting the least recently used. Each job gets its own
copy of the ZIP, re-labelled as its own report (:mod:`.reportcopy`), so expiring a job never
breaks the cache or the reverse.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
import redis
from redis.exceptions import WatchError

from .constants import Names
from .errors import ObjectNotFound, StaleCacheEntry
from .jobs import JobRecord
from .jobstore.connection import RELEASE_SCRIPT
from .objectstore import ObjectStore
from .reportcopy import NotACopyableReport, copy_for_job
from .settings import CommonSettings


def cache_key(
    report_type: str, options: Mapping[str, str], payload_sha256: str, owner: str | None = None
) -> str:
    """The identity of a report: type, options, dataset and, unless shared, its owner."""
    identity: list[Any] = [report_type, dict(sorted(options.items())), payload_sha256]
    if owner is not None:
        identity.append(owner)
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def key_of(record: JobRecord, shared_across_clients: bool = False) -> str | None:
    """The cache key of a job (None for a job recorded without its payload's hash); the
    owner is part of it unless the cache is shared across clients."""
    if not record.payload_sha256:
        return None
    owner = None if shared_across_clients else record.owner
    return cache_key(record.report_type, record.options, record.payload_sha256, owner)


class CacheEntry(msgspec.Struct, rename="camel", kw_only=True):
    """One cached report."""

    key: str
    object_key: str
    file_name: str
    size_bytes: int
    records_processed: int
    records_rejected: int
    created_at: float


class CacheStats(msgspec.Struct, rename="camel", kw_only=True):
    """GET /cache-stats."""

    enabled: bool
    entries: int
    total_bytes: int
    cap_bytes: int
    hits: int
    misses: int
    hit_ratio: float
    evictions: int
    expirations: int
    oldest_entry: datetime | None
    newest_entry: datetime | None
    ttl_seconds: int


_entry_decoder = msgspec.json.Decoder(CacheEntry)


class ReportCache:
    """Entries in Redis, ZIPs in storage under ``cache/``."""

    def __init__(
        self,
        client: redis.Redis,
        objects: ObjectStore,
        names: Names,
        cap_bytes: int,
        ttl_seconds: int,
        enabled: bool = True,
        shared_across_clients: bool = False,
    ) -> None:
        self.client = client
        self.objects = objects
        self.names = names
        self.cap_bytes = cap_bytes
        self.ttl_seconds = ttl_seconds
        self.enabled = enabled
        self.shared_across_clients = shared_across_clients
        self._release = client.register_script(RELEASE_SCRIPT)

    @classmethod
    def from_settings(
        cls, settings: CommonSettings, client: redis.Redis, objects: ObjectStore
    ) -> ReportCache:
        """The cache configured by ``settings``, on existing clients."""
        return cls(
            client,
            objects,
            settings.names,
            cap_bytes=settings.cache_max_bytes,
            ttl_seconds=settings.job_ttl_seconds,
            enabled=settings.cache_enabled,
            shared_across_clients=settings.cache_shared_across_clients,
        )

    def key_for(self, record: JobRecord) -> str | None:
        """The cache key of a job, scoped to its owner unless the cache is shared."""
        return key_of(record, self.shared_across_clients)

    def lookup(self, key: str) -> CacheEntry | None:
        """The live entry of a key, or None."""
        if not self.enabled:
            return None
        raw = self.client.get(self.names.cache_entry(key))
        if raw is None:
            return None
        entry = _entry_decoder.decode(raw)
        return None if entry.created_at + self.ttl_seconds < time.time() else entry

    def serve(self, entry: CacheEntry, dest_key: str, job_id: str) -> int:
        """Copy a cached ZIP to ``dest_key`` as job ``job_id``'s report and count the hit;
        the copy's size. StaleCacheEntry (the entry evicted) when storage lost the ZIP (a
        fresh storage under the same Redis, say) or it is not a report's."""
        try:
            size = copy_for_job(self.objects, entry.object_key, dest_key, job_id)
        except (ObjectNotFound, NotACopyableReport) as exc:
            self.remove(entry.key, "evictions")
            raise StaleCacheEntry(entry.key) from exc
        with self.client.pipeline(transaction=False) as pipe:
            pipe.zadd(self.names.cache_lru, {entry.key: time.time()}, xx=True)
            pipe.hincrby(self.names.cache_stats, "hits", 1)
            pipe.execute()
        return size

    def record_miss(self) -> None:
        """Count a report that had to be built."""
        if self.enabled:
            self.client.hincrby(self.names.cache_stats, "misses", 1)

    def claim(self, key: str, holder: str, ttl_seconds: int, force: bool = False) -> bool:
        """Mark ``holder`` (a job id, then what tells its run apart) as building ``key``;
        False if another holds it. ``force`` takes the claim from a holder known to be gone.
        """
        if not self.enabled:
            return True
        name = self.names.cache_inflight(key)
        return bool(self.client.set(name, holder, nx=not force, ex=ttl_seconds))

    def holder(self, key: str) -> str | None:
        """The job building ``key`` now, if any."""
        raw = self.client.get(self.names.cache_inflight(key)) if self.enabled else None
        return None if raw is None else _text(raw).split(" ", 1)[0]

    def release(self, key: str, holder: str) -> None:
        """Drop the claim of ``holder`` on ``key`` (one someone else holds now stays)."""
        self._release(keys=[self.names.cache_inflight(key)], args=[holder])

    def store(self, key: str, source_key: str, entry: CacheEntry) -> int:
        """Keep a copy of a freshly built ZIP; evictions made to stay under the cap."""
        if not self.enabled or entry.size_bytes > self.cap_bytes:
            return 0
        self.objects.copy(source_key, entry.object_key)
        now = time.time()
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(self.names.cache_entry(key), msgspec.json.encode(entry))
            pipe.zadd(self.names.cache_lru, {key: now})
            pipe.zadd(self.names.cache_created, {key: entry.created_at})
            pipe.hincrby(self.names.cache_stats, "bytes", entry.size_bytes)
            pipe.execute()
        return self.evict()

    def evict(self) -> int:
        """Remove least recently used entries until the cache fits its cap."""
        evicted = 0
        while int(self.client.hget(self.names.cache_stats, "bytes") or 0) > self.cap_bytes:
            oldest = self.client.zrange(self.names.cache_lru, 0, 0)
            if not oldest or not self.remove(_text(oldest[0]), "evictions"):
                break
            evicted += 1
        return evicted

    def expire(self) -> int:
        """Remove entries older than the TTL; how many."""
        cutoff = time.time() - self.ttl_seconds
        keys = self.client.zrangebyscore(self.names.cache_created, "-inf", cutoff, 0, 500)
        return sum(self.remove(_text(key), "expirations") for key in keys)

    def drop_missing(self) -> int:
        """Remove entries whose ZIP storage no longer has (lost behind our back); how many.

        Entries are read before the objects are listed: an entry is written only after its
        ZIP is copied, so one that appears meanwhile has its object and is not mistaken.
        """
        keys = [_text(key) for key in self.client.zrange(self.names.cache_created, 0, -1)]
        if not keys:
            return 0
        present = {info.key for info in self.objects.list("cache/")}
        missing = [key for key in keys if self.names.cache_object(key) not in present]
        return sum(self.remove(key, "evictions") for key in missing)

    def remove(self, key: str, counter: str) -> bool:
        """Delete one entry and its ZIP, counting it under ``counter``.

        The entry, its indexes and the bytes counted change in one transaction, so a
        janitor that dies, or storage that fails, after it leaves the count right (the
        count is what eviction keeps under the cap). The ZIP goes after it: one left behind
        is owned by no entry, and the janitor's sweep of orphans deletes it.
        """
        name = self.names.cache_entry(key)
        with self.client.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(name)  # type: ignore[no-untyped-call]  # redis-py's own
                raw = pipe.get(name)
                pipe.multi()
                pipe.zrem(self.names.cache_lru, key)
                pipe.zrem(self.names.cache_created, key)
                if raw is None:  # another janitor or worker removed it first
                    pipe.execute()
                    return False
                entry = _entry_decoder.decode(raw)
                pipe.delete(name)
                pipe.hincrby(self.names.cache_stats, "bytes", -entry.size_bytes)
                pipe.hincrby(self.names.cache_stats, counter, 1)
                pipe.execute()
            except WatchError:  # removed or stored again meanwhile: not this one's to count
                return False
        self.objects.delete(entry.object_key)
        return True

    def owns(self, object_key: str) -> bool:
        """Whether a ``cache/`` object belongs to a live entry."""
        key = object_key.removeprefix("cache/").removesuffix(".zip")
        return bool(self.client.exists(self.names.cache_entry(key)))

    def stats(self) -> CacheStats:
        """The cache's figures."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.names.cache_stats)
            pipe.zcard(self.names.cache_created)
            pipe.zrange(self.names.cache_created, 0, 0, withscores=True)
            pipe.zrange(self.names.cache_created, -1, -1, withscores=True)
            counters, entries, oldest, newest = pipe.execute()
        count = {k.decode(): int(v) for k, v in counters.items()}
        hits, misses = count.get("hits", 0), count.get("misses", 0)
        return CacheStats(
            enabled=self.enabled,
            entries=int(entries),
            total_bytes=max(0, count.get("bytes", 0)),
            cap_bytes=self.cap_bytes,
            hits=hits,
            misses=misses,
            hit_ratio=round(hits / (hits + misses), 4) if hits + misses else 0.0,
            evictions=count.get("evictions", 0),
            expirations=count.get("expirations", 0),
            oldest_entry=_moment(oldest),
            newest_entry=_moment(newest),
            ttl_seconds=self.ttl_seconds,
        )


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _moment(scored: list[tuple[bytes, float]]) -> datetime | None:
    return datetime.fromtimestamp(scored[0][1], UTC) if scored else None
