"""What a finished build records for its lane's estimates."""

from __future__ import annotations

import pytest

from reports_worker.samples import run_sample

MB = 1_000_000


def test_a_builds_reading_ends_where_its_rate_from_the_first_figure_says() -> None:
    # Started at 100; 1 MB read ahead at 100.1, 9 MB more by 104.1: 2.25 MB/s, so the
    # reading of 10 MB took 0.1 + 10 / 2.25 s; the build 6 s.
    sample = run_sample(10 * MB, 6.0, (1 * MB, 100.1), (10 * MB, 104.1), started=100.0)
    assert sample.payload_bytes == 10 * MB and sample.seconds == 6.0
    assert sample.read_seconds == pytest.approx(0.1 + 10 / 2.25)
    assert sample.setup_seconds == pytest.approx(0.1)


def test_a_build_with_a_single_figure_counts_all_of_it_as_reading() -> None:
    sample = run_sample(MB, 0.4, (MB, 100.1), (MB, 100.1), started=100.0)
    assert (sample.seconds, sample.read_seconds) == (0.4, 0.4)
