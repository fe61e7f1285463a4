"""Hands request bytes from the event loop to a storage thread, counting and hashing them."""

from __future__ import annotations

import asyncio
import hashlib
import queue

_END = object()


class UploadPipe:
    """A bounded pipe: ``push`` on the event loop, ``read`` in the thread that uploads.

    At most ``depth`` chunks wait in it, so a slow storage slows the client down instead
    of filling memory.
    """

    def __init__(self, depth: int = 16) -> None:
        self._queue: queue.Queue[object] = queue.Queue(depth)
        self._pending = memoryview(b"")
        self._done = False
        self._sha256 = hashlib.sha256()
        self.size = 0
        self.reader_failed = asyncio.Event()

    async def push(self, chunk: bytes) -> None:
        """Queue a chunk for the reader; waits while the pipe is full."""
        await self._put(chunk)

    async def close(self) -> None:
        """Tell the reader the stream ended."""
        await self._put(_END)

    async def abort(self, exc: BaseException) -> None:
        """Make the reader fail with ``exc`` (so storage drops the partial upload)."""
        await self._put(exc)

    async def _put(self, item: object) -> None:
        while True:
            if self.reader_failed.is_set():
                return
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.005)

    # Reader side (runs in a worker thread)
    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is queued when -1); empty at the end."""
        if not self._pending:
            if self._done:
                return b""
            item = self._queue.get()
            if item is _END:
                self._done = True
                return b""
            if isinstance(item, BaseException):
                self._done = True
                raise item
            assert isinstance(item, bytes | bytearray | memoryview)
            self._sha256.update(item)
            self.size += len(item)
            self._pending = memoryview(item)
        if size < 0 or size >= len(self._pending):
            out, self._pending = self._pending, memoryview(b"")
        else:
            out, self._pending = self._pending[:size], self._pending[size:]
        return bytes(out)

    @property
    def sha256(self) -> str:
        """SHA-256 of everything read so far."""
        return self._sha256.hexdigest()
