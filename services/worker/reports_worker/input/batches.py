"""Batches of records as cut from the payload: raw JSON, not decoded yet.

A batch is about 1 MB of payload and travels as those bytes (to a helper process, say);
:func:`.decoding.decode_batch` turns it into records of a report's schema.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ArrayBatch:
    """Consecutive elements of the payload's array: their JSON text without brackets.

    The text is known to be valid JSON (the splitter decoded it once, as raw records):
    what can still go wrong is a record that does not fit the schema.
    """

    data: bytes
    first: int  # number of the first record (1-based, in payload order)
    count: int


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
