"""Datasets kept gzip-compressed in storage: deflated by the api as stored, inflated by the
worker as read, a bounded piece at a time."""

from __future__ import annotations

import gzip
import io
import json

import pytest

from reports_shared.errors import InvalidPayload
from reports_shared.storedpayload import Deflating
from reports_worker.input.content import Inflated

DATASET = json.dumps(
    [
        {"invoiceNumber": f"F-{n:06d}", "total": f"{n * 7 % 1000}.{n % 100:02d}"}
        for n in range(20_000)
    ]
).encode()


class Trickle(io.BytesIO):
    """A source that gives at most ``step`` bytes a read, as a socket or a pipe may."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data)
        self.step = step

    def read(self, size: int | None = -1, /) -> bytes:
        return super().read(self.step if size is None or size < 0 else min(size, self.step))


def read_all(reader: Deflating | Inflated, size: int) -> list[bytes]:
    pieces = []
    while piece := reader.read(size):
        pieces.append(piece)
    return pieces


def test_a_dataset_is_stored_as_one_gzip_member_much_smaller_than_sent() -> None:
    pieces = read_all(Deflating(Trickle(DATASET, 1000)), 64 * 1024)

    stored = b"".join(pieces)
    assert gzip.decompress(stored) == DATASET
    assert len(stored) < len(DATASET) / 4
    # Storage reads parts of a size: never more than asked, empty only at the end.
    assert all(0 < len(piece) <= 64 * 1024 for piece in pieces)


def test_reading_it_back_gives_the_bytes_as_sent_never_more_than_asked() -> None:
    stored = gzip.compress(DATASET, compresslevel=1)

    pieces = read_all(Inflated(Trickle(stored, 777)), 5000)

    assert b"".join(pieces) == DATASET
    assert all(0 < len(piece) <= 5000 for piece in pieces)


def test_an_empty_dataset_round_trips() -> None:
    stored = Deflating(io.BytesIO(b"")).read()

    assert gzip.decompress(stored) == b""
    assert Inflated(io.BytesIO(stored)).read(100) == b""


def test_a_stored_payload_cut_short_is_named_not_taken_for_the_whole() -> None:
    stored = gzip.compress(DATASET)
    reader = Inflated(io.BytesIO(stored[: len(stored) // 2]))

    with pytest.raises(InvalidPayload, match="incompleto"):
        read_all(reader, 1 << 16)


def test_a_damaged_stored_payload_is_a_clear_error() -> None:
    stored = bytearray(gzip.compress(DATASET))
    stored[len(stored) // 2 : len(stored) // 2 + 64] = bytes(64)

    with pytest.raises(InvalidPayload, match="dañado"):
        read_all(Inflated(io.BytesIO(bytes(stored))), 1 << 16)
