"""The operator docs say what each input limit caps, as the code applies it."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs"


def test_the_decompressed_cap_is_documented_for_plain_payloads_too() -> None:
    # The cap applies to every payload's JSON bytes, plain or gzip (input/content.py)
    page = (DOCS / "operators/configuration.md").read_text()
    row = next(line for line in page.splitlines() if "`AR_MAX_DECOMPRESSED_BYTES`" in line)
    assert "plain" in row, row
    for path in DOCS.rglob("*.md"):
        text = " ".join(path.read_text().split())
        assert not re.search(r"gzip (payload )?past `AR_MAX_DECOMPRESSED_BYTES`", text), path
        assert "cap on a gzip payload" not in text, path
