"""The report cache's count of bytes, which eviction keeps under the cap, stays right when
removing an entry fails half-way (real ReportCache and its transactions, on fakeredis)."""

from __future__ import annotations

import time
import uuid

import pytest

from reports_shared.cache import CacheEntry, ReportCache
from reports_shared.constants import Names
from reports_shared.errors import StorageUnavailable
from tests.support.standins import MemoryObjects, memory_redis


class DeletesFail(MemoryObjects):
    """A bucket whose deletes fail, as storage that went away after the entry was read."""

    def delete(self, key: str) -> None:
        raise StorageUnavailable("storage error: connection refused")


def cached(objects: MemoryObjects, size: int = 1000) -> tuple[ReportCache, str]:
    """A cache holding one entry of ``size`` bytes; its key."""
    cache = ReportCache(memory_redis(), objects, Names("u" + uuid.uuid4().hex[:8]), 10**9, 3600)
    key = uuid.uuid4().hex
    objects.blobs["results/job/r.zip"] = b"z" * size
    entry = CacheEntry(
        key=key, object_key=cache.names.cache_object(key), file_name="r.zip",
        size_bytes=size, records_processed=1, records_rejected=0, created_at=time.time(),
    )  # fmt: skip
    cache.store(key, "results/job/r.zip", entry)
    assert (cache.stats().entries, cache.stats().total_bytes) == (1, size)
    return cache, key


def test_an_entry_whose_zip_cannot_be_deleted_is_still_uncounted() -> None:
    # Given a cached entry, and storage that fails when its ZIP is deleted
    objects = DeletesFail()
    cache, key = cached(objects)
    # When the entry is evicted (the janitor's sweep, say) and storage fails
    with pytest.raises(StorageUnavailable):
        cache.remove(key, "evictions")
    # Then the entry and its bytes are gone from the count together (the ZIP left behind
    # is an orphan the janitor's sweep deletes); the count does not drift up for good
    stats = cache.stats()
    assert (stats.entries, stats.total_bytes, stats.evictions) == (0, 0, 1)
    assert not cache.owns(cache.names.cache_object(key))


def test_an_entry_removed_twice_is_counted_once() -> None:
    objects = MemoryObjects()
    cache, key = cached(objects)
    assert cache.remove(key, "evictions") is True
    assert cache.remove(key, "evictions") is False
    stats = cache.stats()
    assert (stats.entries, stats.total_bytes, stats.evictions) == (0, 0, 1)
    assert objects.keys("cache/") == set()
