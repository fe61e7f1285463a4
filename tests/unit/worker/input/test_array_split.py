"""The array splitter cuts anywhere safely: strings with brackets, escapes, block edges."""

from __future__ import annotations

import json
import random

import msgspec
import pytest

from reports_shared.errors import InvalidPayload
from reports_worker.input import arraysplit
from reports_worker.input.arraysplit import scan
from reports_worker.input.batches import ArrayBatch
from reports_worker.input.payload import Payload
from tests.support.builds import Source

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
    """Every record of ``payload``'s array: its batches cut, then parsed, as a build would."""
    records: list[object] = []
    for batch in Payload(Source(payload), max_input_bytes=1 << 30).batches():
        assert isinstance(batch, ArrayBatch)
        raws = arraysplit.raw_records(batch.data, batch.offset, empty_allowed=True)
        records += [msgspec.json.decode(raw) for raw in raws]
    return records


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("block", [3, 7, 64, 1000])
def test_tiny_blocks_give_back_every_record(
    monkeypatch: pytest.MonkeyPatch, seed: int, block: int
) -> None:
    # given tricky records and blocks so small that cuts fall everywhere
    monkeypatch.setattr(arraysplit, "BLOCK_BYTES", block)
    records = _records(random.Random(seed), 40)
    payload = json.dumps(records, indent=seed % 3 or None).encode()

    # when / then
    assert _split(payload) == records


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("block", [3, 7, 64, 1000])
def test_tiny_blocks_give_back_every_wrapped_record(
    monkeypatch: pytest.MonkeyPatch, seed: int, block: int
) -> None:
    # given records wrapped in an object with tricky keys before and after the array
    monkeypatch.setattr(arraysplit, "BLOCK_BYTES", block)
    rng = random.Random(seed)
    records = _records(rng, 30)
    wrapper = {
        "meta": {"[": "]", "list": [[1, {"a": "],"}]], "n": None},
        "items": records,
        "after": {"b": [1, 2, {"c": ", ]"}], "d": _records(rng, 3)},
    }
    payload = json.dumps(wrapper, indent=seed % 3 or None).encode()

    # when / then
    assert _split(payload) == records


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("block", [3, 7, 64, 1000])
@pytest.mark.parametrize("wrapped", [False, True])
def test_each_batch_says_where_it_starts_and_how_many_records_it_holds(
    monkeypatch: pytest.MonkeyPatch, seed: int, block: int, wrapped: bool
) -> None:
    # given tricky records, top-level or wrapped, and blocks that cut them anywhere
    monkeypatch.setattr(arraysplit, "BLOCK_BYTES", block)
    records = _records(random.Random(seed), 40)
    wrapper = {"m": {"k": [1, {"a": "],"}]}, "items": records, "z": 0}
    document: object = wrapper if wrapped else records
    payload = json.dumps(document, indent=seed % 3 or None).encode()

    # when the batches are cut, unparsed
    batches = list(Payload(Source(payload), max_input_bytes=1 << 30).batches())

    # then each is the payload's text at its offset, holding as many records as it says
    assert sum(batch.count for batch in batches) == len(records)
    first = 1
    for batch in batches:
        assert isinstance(batch, ArrayBatch)
        assert payload[batch.offset : batch.offset + len(batch.data)] == batch.data
        assert len(msgspec.json.decode(b"[" + batch.data + b"]")) == batch.count
        assert batch.first == first
        first += batch.count


def test_an_object_closed_early_is_reported_without_reading_on_for_a_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a stray "}" early in an array whose records after it weigh more than a record may
    monkeypatch.setattr(arraysplit, "BLOCK_BYTES", 64)
    monkeypatch.setattr(arraysplit, "MAX_BATCH_BYTES", 512)
    payload = json.dumps([{"n": n, "v": "x" * 20} for n in range(200)]).encode()
    at = payload.index(b"}", 100) + 1
    broken = payload[:at] + b"}" + payload[at:]

    # when / then: the error is what follows the array's end, not a record too large
    with pytest.raises(InvalidPayload, match=f"cerca del byte {at + 1}: hay contenido después"):
        _split(broken)


def test_scan_ignores_commas_in_strings_and_nested_values() -> None:
    tail = b'{"a": [1, 2], "b": "x, y"}, {"c": "\\", ]"}'
    assert scan(tail, (1, False, False), 1) == (tail.index(b"}, {") + 1, -1)


def test_scan_continues_an_open_string_and_escape() -> None:
    # given a tail that starts inside a string, right after a backslash
    tail = b'", still text", 1], {"z": 0}, 2'
    assert scan(tail, (2, True, True), 1) == (len(tail) - 3, -1)


def test_scan_finds_where_the_array_ends() -> None:
    data = b'1, [2, 3], "]"], "k": [4, 5]'
    assert scan(data, (2, False, False), 2) == (9, data.index(b'], "k"'))


def test_garbage_after_a_wrapped_array_is_refused() -> None:
    with pytest.raises(InvalidPayload, match=r"cerca del byte 2[0-9]"):
        _split(b'{"items": [{"a": 1}], "x": tru}')


def test_unclosed_wrapper_is_refused() -> None:
    with pytest.raises(InvalidPayload, match="termina antes de cerrar el JSON"):
        _split(b'{"items": [{"a": 1}], "x": 1')


def test_trailing_comma_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidPayload, match="sobra una coma"):
        _split(b'[{"a": 1},\n]')


def test_trailing_garbage_is_refused() -> None:
    with pytest.raises(InvalidPayload, match="hay contenido después del final del JSON"):
        _split(b'[{"a": 1}] {"b": 2}')


def test_empty_array_has_no_records() -> None:
    assert _split(b" [ ] ") == []
