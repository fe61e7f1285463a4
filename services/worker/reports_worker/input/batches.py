"""Batches of records as cut from the payload: raw JSON, not decoded yet.

A batch is about 1 MB of payload and travels as those bytes (to a helper process, say);
:func:`.decoding.decode_batch` turns it into records of a report's schema.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArrayBatch:
    """Consecutive elements of the payload's array: their JSON text without brackets.

    The splitter cut it between two records and counted them, but did not parse it: its
    syntax is checked where it is decoded, and an error is reported at ``offset``'s
    reckoning (the payload's byte where ``data`` starts).
    """

    data: bytes
    first: int  # number of the first record (1-based, in payload order)
    count: int  # records, if the text is valid JSON
    offset: int = 0


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Consecutive NDJSON records: each line with its line number and byte offset."""

    lines: list[tuple[bytes, int, int]]
    first: int

    @property
    def count(self) -> int:
        """Records in the batch."""
        return len(self.lines)


Batch = ArrayBatch | LineBatch
