"""The C scanner (``_scan.follow``) against the reference tokenizer in Python, ``structure``."""

from __future__ import annotations

import random

import pytest

from reports_worker.input import _scan
from reports_worker.input.nesting import State, structure

#: Every byte the scanner treats apart, and some it ignores.
ALPHABET = b'[]{}",\\a :1'


def _expected(data: bytes, state: State, level: int, max_depth: int) -> tuple[int, ...]:
    """What ``follow`` must return, from ``structure`` and a plain walk of the escapes."""
    comma = close = too_deep = -1
    commas = 0
    for at, byte, depth in structure(data, state):
        if byte in b"[{" and depth >= max_depth:
            too_deep = at
            break
        if byte in b"]}" and close < 0 and depth - 1 < level:
            close = at
        if byte == ord(",") and close < 0 and depth == level:
            comma = at
            commas += 1
    end = data[: too_deep if too_deep >= 0 else len(data)]
    depth, in_string, escaped = state
    string_start = -1
    for at, byte in enumerate(end):
        if in_string:
            if escaped:
                escaped = False
            elif byte == ord("\\"):
                escaped = True
            elif byte == ord('"'):
                in_string, string_start = False, -1
        elif byte == ord('"'):
            in_string, string_start = True, at
        elif byte in b"[{":
            depth += 1
        elif byte in b"]}":
            depth -= 1
    return depth, in_string, escaped, comma, close, too_deep, string_start, commas


@pytest.mark.parametrize("seed", range(4))
def test_follow_agrees_with_the_reference_tokenizer(seed: int) -> None:
    # given random texts of the bytes that matter, from random states
    rng = random.Random(seed)
    for _ in range(5_000):
        data = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        in_string = rng.random() < 0.5
        state = (rng.randint(0, 4), in_string, in_string and rng.random() < 0.3)
        level, max_depth = rng.randint(-1, 3), rng.randint(state[0], 7)

        # when / then
        got = _scan.follow(data, *state, level, max_depth)
        assert got == _expected(data, state, level, max_depth), (data, state, level, max_depth)


def test_a_chunk_ending_in_a_backslash_escapes_the_next_chunks_first_byte() -> None:
    # given a string whose escaped quote falls across two chunks
    first = _scan.follow(b'["a\\', 0, False, False, 1, 200)
    assert first[:3] == (1, True, True)

    # when the next chunk starts with the escaped quote / then the string goes on
    assert _scan.follow(b'"b"]', 1, True, True, 1, 200)[:3] == (0, False, False)


def test_the_scan_stops_at_the_first_bracket_past_the_limit() -> None:
    assert _scan.follow(b'[{"x": [[', 0, False, False, 1, 3)[5] == 8


#: Valid sequences of each length, the bounds of table 3-7 included.
UTF8 = [
    b"a",
    b"\xc3\xb1",
    b"\xe2\x82\xac",
    b"\xf0\x9f\x8e\x89",
    b"\xed\x9f\xbf",
    b"\xf4\x8f\xbf\xbf",
]
#: Stray continuations, overlong forms, surrogates, past U+10FFFF, cut short.
NOT_UTF8 = [
    b"\x80", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf0\x80\x80\xaf",
    b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x8e",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(3))
def test_utf8_agrees_with_pythons_decoder(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20_000):
        parts = [rng.choice(UTF8) for _ in range(rng.randint(0, 12))]
        if rng.random() < 0.4:
            parts.insert(rng.randint(0, len(parts)), rng.choice(NOT_UTF8))
        data = b"".join(parts)
        if rng.random() < 0.2:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 12)))
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            assert not _scan.utf8(data), data
        else:
            assert _scan.utf8(data), data
