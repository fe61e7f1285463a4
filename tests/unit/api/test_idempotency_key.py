"""A blank Idempotency-Key is refused rather than taken for no key."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from reports_api.access.keys import OPEN_ACCESS
from reports_api.errors import InvalidRequest
from reports_api.intake import idempotency


def _earlier(headers: dict[str, str]) -> Any:
    request: Any = SimpleNamespace(headers=headers)
    services: Any = None  # neither case gets as far as the job store
    return asyncio.run(idempotency.claim(request, services, OPEN_ACCESS))


@pytest.mark.parametrize("key", ["", "   "])
def test_a_blank_key_is_a_400_saying_so(key: str) -> None:
    with pytest.raises(InvalidRequest, match="Idempotency-Key está vacío"):
        _earlier({"idempotency-key": key})


def test_no_key_is_no_earlier_job() -> None:
    assert _earlier({}) is None
