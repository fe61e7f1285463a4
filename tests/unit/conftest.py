"""Fixtures of the unit tests: report builds run into tmp_path (``tests.support.builds``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.builds import Builder, builder


@pytest.fixture
def build(tmp_path: Path) -> Builder:
    """Run a build: ``build(payload_bytes_or_records, report="FacturacionMasiva", ...)``."""
    return builder(tmp_path)
