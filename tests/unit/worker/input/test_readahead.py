"""A payload read ahead by a thread gives the build the same bytes, errors in their turn."""

from __future__ import annotations

import io
import random
import threading
import time

import pytest

from reports_worker.input.readahead import ReadAhead


class _Broken:
    """A source that gives ``good`` and then fails, as a stream cut off midway does."""

    def __init__(self, good: bytes) -> None:
        self._good = io.BytesIO(good)
        self.reads = 0

    def read(self, size: int, /) -> bytes:
        self.reads += 1
        data = self._good.read(size)
        if not data:
            raise ConnectionResetError("el servidor cortó la conexión")
        return data


def test_the_bytes_come_back_whole_and_in_order_whatever_the_read_sizes() -> None:
    # Given 3 MB of bytes, and reads of random sizes from pieces of 64 KB
    rng = random.Random(7)
    data = rng.randbytes(3 << 20)
    got = bytearray()
    with ReadAhead(io.BytesIO(data), piece_bytes=1 << 16) as source:
        # When read to the end, then once more
        while chunk := source.read(rng.randint(1, 300_000)):
            got += chunk
        assert source.read(10) == b""
    # Then nothing is lost, doubled or moved
    assert bytes(got) == data


def test_an_error_of_the_source_comes_after_the_bytes_before_it() -> None:
    # Given a source that fails after 100 KB
    data = bytes(range(256)) * 400
    got = bytearray()
    # When read on, then the same error is raised where the bytes end
    with (
        ReadAhead(_Broken(data), piece_bytes=4096) as source,
        pytest.raises(ConnectionResetError, match="cortó"),
    ):
        while chunk := source.read(10_000):
            got += chunk
    assert bytes(got) == data


def test_it_reads_ahead_of_the_build_but_only_a_few_pieces() -> None:
    # Given a long source nobody reads yet
    source = _Broken(b"x" * (10 << 20))
    with ReadAhead(source, piece_bytes=1024, pieces=4):
        time.sleep(0.3)
        # Then the thread has read ahead: the pieces it holds, and one it waits to hand over
        assert source.reads == 5


def test_leaving_early_stops_the_thread_blocked_on_a_full_queue() -> None:
    # Given a reader whose queue is full (the build reads nothing more)
    reader = ReadAhead(io.BytesIO(b"y" * (8 << 20)), piece_bytes=1024, pieces=2)
    time.sleep(0.1)
    assert reader.read(5) == b"yyyyy"

    # When it is closed
    started = time.monotonic()
    reader.close()

    # Then promptly, and its thread is gone
    assert time.monotonic() - started < 1.0
    assert not any(thread.name == "read-ahead" for thread in threading.enumerate())
