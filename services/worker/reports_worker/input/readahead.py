"""A payload read a few pieces ahead by a thread of its own, beside the build.

The worker reads a stored payload from S3 and inflates it (it is kept gzipped) as the
build asks for it. Both wait on something other than Python: the socket, zlib-ng's
inflate (which releases the GIL). Done by the build's own thread, that time was added to
the build's; done here, it overlaps the build's work on the other core. A few pieces are
held at most: memory stays flat. An error reading (a broken stream, a damaged gzip) is
raised to the build where the pieces before it end, as if the build had read it itself.
"""

from __future__ import annotations

import queue
import threading
from types import TracebackType

from .content import Source

#: Pieces read ahead at most (each what one read of the source gives, 256 KB inflated).
PIECES = 8
#: How often a reader blocked on a full queue looks whether it was stopped (s).
_POLL_SECONDS = 0.1


class ReadAhead:
    """``source`` read by a thread, :data:`PIECES` pieces ahead; a source for the build.

    Use it as a context manager: leaving stops the thread (a build that fails midway does
    not read the rest). The thread may still be inside a read of ``source``, so close the
    underlying stream after this, which ends any such read.
    """

    def __init__(self, source: Source, *, piece_bytes: int = 1 << 18, pieces: int = PIECES):
        self._pieces: queue.Queue[bytes | BaseException] = queue.Queue(pieces)
        self._stop = threading.Event()
        self._pending = b""
        self._ended = False
        self._thread = threading.Thread(
            target=self._run, args=(source, piece_bytes), name="read-ahead", daemon=True
        )
        self._thread.start()

    def _run(self, source: Source, piece_bytes: int) -> None:
        try:
            while not self._stop.is_set():
                piece = source.read(piece_bytes)
                self._hand_over(piece)
                if not piece:
                    return
        except BaseException as exc:  # raised in the build's thread, in its turn
            self._hand_over(exc)

    def _hand_over(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._pieces.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` bytes of the source, in order; empty at its end."""
        if not self._pending and not self._ended:
            item = self._pieces.get()
            if isinstance(item, BaseException):
                self._ended = True
                raise item
            self._ended = not item
            self._pending = item
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def close(self) -> None:
        """Stop reading ahead: the thread ends after the read it is in, if any."""
        self._stop.set()
        while True:  # let a thread blocked on a full queue see the stop
            try:
                self._pieces.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=_POLL_SECONDS * 2)

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
