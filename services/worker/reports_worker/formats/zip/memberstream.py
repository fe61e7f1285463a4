"""A ZIP member written by a background thread, so deflate runs beside the build.

The build (pure Python, holding the GIL) hands over chunks of bytes; the thread
deflates them into the member and hashes them. zlib-ng and hashlib release the GIL on
large buffers, so on two cores this work costs the build almost nothing.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zipfile
from types import TracebackType

from .deflate import open_member

#: Chunks waiting for the thread; bounds the memory this takes (chunks are ~256 KB).
_QUEUE_CHUNKS = 16


class MemberStream:
    """Bytes written here end up deflated in member ``name`` of ``archive``."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self.name = name
        self.size = 0
        self.sha256 = ""
        self.closed = False
        self._queue: queue.Queue[bytes | None] = queue.Queue(_QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(archive,), name=f"zip-{name}", daemon=True
        )
        self._thread.start()

    def _run(self, archive: zipfile.ZipFile) -> None:
        digest = hashlib.sha256()
        try:
            # The size is unknown up front: ZIP64 headers keep a member over 2 GiB valid.
            with open_member(archive, self.name, force_zip64=True) as member:
                while (chunk := self._queue.get()) is not None:
                    member.write(chunk)
                    digest.update(chunk)
                    self.size += len(chunk)
        except BaseException as exc:  # handed to the writer on its next call
            self._error = exc
            while self._queue.get() is not None:  # let the writer finish without blocking
                pass
        self.sha256 = digest.hexdigest()

    def write(self, data: bytes) -> int:
        """Queue ``data`` for the member (blocks while the thread is behind)."""
        if self._error is not None:
            raise self._error
        if data:
            self._queue.put(data)
        return len(data)

    def close(self) -> None:
        """Wait until the member is complete; raise what went wrong in the thread."""
        self.closed = True
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> MemberStream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
