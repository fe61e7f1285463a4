"""Stand-ins at the edge for unit tests: Redis in memory (fakeredis, Lua scripts included)
and a bucket in a dict. Everything of ours runs for real on top of them."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fakeredis
import urllib3

from reports_shared.errors import ObjectNotFound
from reports_shared.objectstore import ObjectInfo, ObjectReader, ObjectStore, Readable


def memory_redis() -> fakeredis.FakeRedis:
    """A Redis of its own, in memory, that runs our Lua scripts (``fakeredis[lua]``)."""
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


class MemoryObjects(ObjectStore):
    """A bucket in a dict, with the methods of ObjectStore that the services call.

    ``when_opened(key)``, if set, runs each time an object is opened for reading: the moment
    a test makes something happen elsewhere (another worker, say) while a job runs. While
    ``failing`` is set, every write raises it (StorageUnavailable: storage cannot be reached).
    """

    def __init__(self) -> None:
        self.bucket = "memory"
        self.blobs: dict[str, bytes] = {}
        self.when_opened: Callable[[str], None] | None = None
        self.failing: Exception | None = None

    def keys(self, prefix: str = "") -> set[str]:
        """Keys of the objects under ``prefix``."""
        return {key for key in self.blobs if key.startswith(prefix)}

    def ensure_bucket(self) -> None:
        return None

    def ping(self) -> None:
        return None

    def put_stream(
        self,
        key: str,
        source: Readable,
        length: int = -1,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> str:
        return self._put(key, source.read())

    def put_file(self, key: str, path: str, content_type: str = "application/zip") -> str:
        return self._put(key, Path(path).read_bytes())

    def copy(self, source_key: str, dest_key: str) -> None:
        self._put(dest_key, self._get(source_key))

    def open(self, key: str, offset: int = 0, length: int = 0) -> ObjectReader:
        data = self._get(key)
        if self.when_opened is not None:
            self.when_opened(key)
        data = data[offset : offset + length] if length else data[offset:]
        response = urllib3.HTTPResponse(
            body=io.BytesIO(data),
            headers={"Content-Length": str(len(data)), "ETag": f'"{_etag(data)}"'},
            status=200,
            preload_content=False,
        )
        return ObjectReader(response)

    def stat(self, key: str) -> ObjectInfo:
        data = self._get(key)
        return ObjectInfo(key, len(data), _etag(data), datetime.now(UTC))

    def delete(self, key: str) -> None:
        self.blobs.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        keys = self.keys(prefix)
        for key in keys:
            del self.blobs[key]
        return len(keys)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        for key in sorted(self.keys(prefix)):
            yield self.stat(key)

    def _put(self, key: str, data: bytes) -> str:
        if self.failing is not None:
            raise self.failing
        self.blobs[key] = data
        return _etag(data)

    def _get(self, key: str) -> bytes:
        try:
            return self.blobs[key]
        except KeyError:
            raise ObjectNotFound(f"no object {key}") from None

    def __getattr__(self, name: str) -> Any:
        # Methods of ObjectStore not stood in for would reach for a Minio client.
        raise AttributeError(f"MemoryObjects has no {name}: add it to the stand-in")


def _etag(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()
