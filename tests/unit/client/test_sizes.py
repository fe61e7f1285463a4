"""Sizes as the command prints them: decimal units (1 kB = 1000 bytes), as the web page."""

from __future__ import annotations

import pytest
from reports_client.client import TUS_THRESHOLD_BYTES
from reports_client.progress import human_bytes

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1 kB"),
        (1500, "1,5 kB"),
        (999_499, "999 kB"),
        (999_600, "1 MB"),
        (6 * MIB, "6,3 MB"),  # a 6 MiB file is 6,3 MB, not "6 MB"
        (500 * MIB, "524 MB"),
        (12_345_678_901, "12,3 GB"),
    ],
)
def test_sizes_are_in_decimal_units(count: int, shown: str) -> None:
    assert human_bytes(count) == shown


def test_the_tus_threshold_the_help_names_is_the_one_applied() -> None:
    # The help says files past "32 MB" go over tus: that is 32,000,000 bytes, as counted.
    assert human_bytes(TUS_THRESHOLD_BYTES) == "32 MB"
    assert TUS_THRESHOLD_BYTES == 32_000_000
