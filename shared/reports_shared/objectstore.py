"""The object store (S3 through the ``minio`` client): streaming in, streaming out, delete."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Protocol

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.datatypes import Part
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error

from .errors import ObjectNotFound, StorageUnavailable
from .settings import CommonSettings

#: Part size of streaming uploads: memory per upload is about one part.
PART_SIZE = 5 * 1024 * 1024
_MISSING = {"NoSuchKey", "NoSuchObject", "NoSuchBucket", "NoSuchUpload"}


class Readable(Protocol):
    """Anything with ``read(n)``: a file, a socket reader, a pipe."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; empty at the end."""
        ...


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What storage knows of one object."""

    key: str
    size: int
    etag: str
    last_modified: datetime | None


class ObjectStore:
    """One bucket of an S3-compatible storage."""

    def __init__(self, client: Minio, bucket: str, probe: Minio | None = None) -> None:
        self.client = client
        self.bucket = bucket
        #: The client of ``ping``: short timeouts and no retry, so a probe answers in seconds.
        self.probe = probe or client

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> ObjectStore:
        """A store for the bucket and credentials in ``settings``."""
        # Fail fast when storage is down or hangs (callers retry); minio's default retries
        # for minutes. The timeouts bound each connect, write and read of a socket, not a
        # whole request: a long upload streams on while its storage answers.
        calls = _http(
            settings.s3_connect_timeout_seconds,
            settings.s3_read_timeout_seconds,
            settings.s3_retries,
        )
        probe_timeout = settings.s3_probe_timeout_seconds
        probes = _http(probe_timeout, probe_timeout, 0)
        return cls(_client(settings, calls), settings.s3_bucket, _client(settings, probes))

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist."""
        with _wrapped():
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket)
                except S3Error as exc:
                    if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                        raise

    def ping(self) -> None:
        """Raise StorageUnavailable unless the bucket answers (within the probe's timeout)."""
        with _wrapped():
            self.probe.bucket_exists(self.bucket)

    def put_stream(
        self,
        key: str,
        source: Readable,
        length: int = -1,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Upload from a reader (of unknown length when -1) in parts; the object's ETag."""
        with _wrapped():
            result = self.client.put_object(
                self.bucket,
                key,
                source,  # type: ignore[arg-type]
                length=length,
                part_size=PART_SIZE,
                content_type=content_type,
                metadata=metadata,  # type: ignore[arg-type]
            )
        return str(result.etag)

    def put_file(self, key: str, path: str, content_type: str = "application/zip") -> str:
        """Upload a local file; the object's ETag. The object appears whole or not at all."""
        with _wrapped():
            # One part in flight: as fast against local storage, ~15 MB less peak memory.
            result = self.client.fput_object(
                self.bucket,
                key,
                path,
                content_type=content_type,
                part_size=PART_SIZE,
                num_parallel_uploads=1,
            )
        return str(result.etag)

    def copy(self, source_key: str, dest_key: str) -> None:
        """Copy an object inside the bucket (server-side: no bytes pass through us)."""
        with _wrapped():
            self.client.copy_object(self.bucket, dest_key, CopySource(self.bucket, source_key))

    def open(self, key: str, offset: int = 0, length: int = 0) -> ObjectReader:
        """A streaming reader of an object (or of a byte range of it)."""
        with _wrapped():
            response = self.client.get_object(self.bucket, key, offset=offset, length=length)
        return ObjectReader(response)

    def stat(self, key: str) -> ObjectInfo:
        """Size, ETag and date of an object."""
        with _wrapped():
            info = self.client.stat_object(self.bucket, key)
        return ObjectInfo(key, int(info.size or 0), str(info.etag), info.last_modified)

    def exists(self, key: str) -> bool:
        """Whether an object exists."""
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        """Delete an object (no error if it is already gone)."""
        with _wrapped(missing_ok=True):
            self.client.remove_object(self.bucket, key)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under a prefix; how many were deleted."""
        keys = [info.key for info in self.list(prefix)]
        if not keys:
            return 0
        with _wrapped():
            errors = list(self.client.remove_objects(self.bucket, [DeleteObject(k) for k in keys]))
        if errors:
            raise StorageUnavailable(f"could not delete {len(errors)} objects under {prefix}")
        return len(keys)

    def pending_uploads(self, prefix: str = "") -> list[PendingUpload]:
        """Multipart uploads left open (an api that died mid-upload leaves one)."""
        # minio-py exposes ListMultipartUploads only as a private method (stable since 7.0).
        pending: list[PendingUpload] = []
        with _wrapped():
            result = self.client._list_multipart_uploads(self.bucket, prefix=prefix)
            for upload in result.uploads:
                key, upload_id = str(upload.object_name), str(upload.upload_id)
                moment = self._last_activity(key, upload_id, upload.initiated_time)
                pending.append(PendingUpload(key, upload_id, moment))
        return pending

    def _last_activity(
        self, key: str, upload_id: str, initiated: datetime | None
    ) -> datetime | None:
        try:
            parts = self.client._list_parts(self.bucket, key, upload_id).parts
        except S3Error as exc:
            if exc.code != "NoSuchUpload":
                raise
            parts = []  # finished or aborted meanwhile: aborting it again is harmless
        moments = [m for m in [initiated, *(p.last_modified for p in parts)] if m is not None]
        return max(moments) if moments else None

    def abort_upload(self, upload: PendingUpload) -> None:
        """Abort an open multipart upload, freeing its parts."""
        with _wrapped(missing_ok=True):
            self.client._abort_multipart_upload(self.bucket, upload.key, upload.upload_id)

    def start_upload(self, key: str) -> str:
        """Begin a multipart upload of ``key`` whose parts come one by one; its upload id."""
        headers: Any = {"Content-Type": "application/octet-stream"}
        with _wrapped():
            upload_id = self.client._create_multipart_upload(self.bucket, key, headers)
        return str(upload_id)

    def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """Store part ``number`` (from 1) of a multipart upload; its ETag."""
        with _wrapped():
            etag = self.client._upload_part(self.bucket, key, data, None, upload_id, number)
        return str(etag)

    def finish_upload(self, key: str, upload_id: str, etags: list[str]) -> None:
        """Complete a multipart upload from its parts' ETags, in order: ``key`` appears whole."""
        parts = [Part(number, etag) for number, etag in enumerate(etags, start=1)]
        with _wrapped():
            self.client._complete_multipart_upload(self.bucket, key, upload_id, parts)

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small object from memory."""
        with _wrapped():
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data))

    def read_bytes(self, key: str) -> bytes:
        """A small object, whole."""
        with self.open(key) as reader:
            return reader.read()

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Objects under a prefix, recursively."""
        with _wrapped():
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                yield ObjectInfo(
                    str(obj.object_name), int(obj.size or 0), str(obj.etag), obj.last_modified
                )


def _http(connect: float, read: float, retries: int) -> urllib3.PoolManager:
    """Connections to storage with these timeouts (seconds) and at most ``retries`` more
    tries of a request (on a connection error, a timeout or a 502/503/504)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect, read=read),
        maxsize=16,
        retries=urllib3.Retry(total=retries, backoff_factor=0.2, status_forcelist=[502, 503, 504]),
    )


def _client(settings: CommonSettings, http: urllib3.PoolManager) -> Minio:
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
        region=settings.s3_region,
        http_client=http,
    )


@dataclass(frozen=True, slots=True)
class PendingUpload:
    """A multipart upload begun and never completed nor aborted."""

    key: str
    upload_id: str
    #: When it began, or when its last part arrived if later: a live upload keeps moving.
    last_activity: datetime | None


class ObjectReader:
    """A file-like streaming body of an object; close it to free the connection."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self.size = int(response.headers.get("Content-Length", 0))
        self.etag = str(response.headers.get("ETag", "")).strip('"')

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; empty at the end."""
        try:
            data: bytes = self._response.read(None if size < 0 else size)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(f"object read failed: {exc}") from exc
        return data

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer``; the count of bytes read."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        """Always True: this is a reader."""
        return True

    def iter_chunks(self, size: int = 256 * 1024) -> Iterator[bytes]:
        """The body in chunks."""
        while chunk := self.read(size):
            yield chunk

    def close(self) -> None:
        """Release the connection."""
        self._response.close()
        self._response.release_conn()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _wrapped:
    """Turn minio and network errors into our own at the boundary."""

    def __init__(self, missing_ok: bool = False) -> None:
        self.missing_ok = missing_ok

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        if exc is None:
            return False
        if isinstance(exc, S3Error) and exc.code in _MISSING:
            if self.missing_ok:
                return True
            raise ObjectNotFound(str(exc.message or exc.code)) from exc
        if isinstance(exc, MinioException | urllib3.exceptions.HTTPError | OSError | ValueError):
            if isinstance(exc, ValueError) and not isinstance(exc, MinioException):
                return False
            raise StorageUnavailable(f"storage error: {exc}") from exc
        return False


__all__ = ["IO", "ObjectInfo", "ObjectReader", "ObjectStore", "Readable"]
