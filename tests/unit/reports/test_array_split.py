"""The array splitter cuts anywhere safely: strings with brackets, escapes, block edges."""

from __future__ import annotations

import json
import random

import msgspec
import pytest

from reports_worker.reports import arraysplit
from reports_worker.reports.arraysplit import ArraySplitter, last_separator
from reports_worker.reports.errors import InvalidPayload
from reports_worker.reports.nesting import NestingGuard
from reports_worker.reports.payload import Content, RawCounter

from .conftest import Source

TRICKY_TEXTS = ["a,b", '[{"x": 1}]', "back\\slash", 'quote " inside', '\\"', "\\\\", "}, {", "ñ"]


def _records(rng: random.Random, count: int) -> list[object]:
    def value(depth: int) -> object:
        kind = rng.randrange(6 if depth < 4 else 3)
        if kind == 0:
            return rng.choice(TRICKY_TEXTS) * rng.randint(1, 3)
        if kind == 1:
            return rng.randint(-5, 10**6)
        if kind == 2:
            return None
        if kind == 3:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {rng.choice(TRICKY_TEXTS): value(depth + 1) for _ in range(rng.randint(0, 3))}

    return [{"n": n, "v": value(0)} for n in range(count)]


def _split(payload: bytes) -> list[object]:
    content = Content(RawCounter(Source(payload)), max_bytes=1 << 30)
    return [msgspec.json.decode(raw) for raw in ArraySplitter(content, NestingGuard()).records()]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(("block", "tail"), [(7, 3), (64, 16), (1000, 50)])
def test_tiny_blocks_give_back_every_record(
    monkeypatch: pytest.MonkeyPatch, seed: int, block: int, tail: int
) -> None:
    # given tricky records and blocks so small that cuts fall everywhere
    monkeypatch.setattr(arraysplit, "BLOCK_BYTES", block)
    monkeypatch.setattr(arraysplit, "TAIL_BYTES", tail)
    records = _records(random.Random(seed), 40)
    payload = json.dumps(records, indent=seed % 3 or None).encode()

    # when / then
    assert _split(payload) == records


def test_last_separator_ignores_commas_in_strings_and_nested_values() -> None:
    tail = b'{"a": [1, 2], "b": "x, y"}, {"c": "\\", ]"}'
    assert last_separator(tail, 1, False, False, 1) == tail.index(b"}, {") + 1


def test_last_separator_continues_an_open_string_and_escape() -> None:
    # given a tail that starts inside a string, right after a backslash
    tail = b'", still text", 1], {"z": 0}, 2'
    assert last_separator(tail, 2, True, True, 1) == len(tail) - 3


def test_trailing_comma_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidPayload, match="sobra una coma antes del cierre"):
        _split(b'[{"a": 1},\n]')


def test_trailing_garbage_is_refused() -> None:
    with pytest.raises(InvalidPayload, match="hay contenido después del final del JSON"):
        _split(b'[{"a": 1}] {"b": 2}')


def test_empty_array_has_no_records() -> None:
    assert _split(b" [ ] ") == []
