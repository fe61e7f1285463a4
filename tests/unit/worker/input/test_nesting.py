"""The nesting guard: exact about strings and escapes, whatever the chunk boundaries."""

from __future__ import annotations

import json

import pytest

from reports_shared.errors import InvalidPayload
from reports_worker.input.nesting import NestingGuard
from tests.support.builds import Builder
from tests.support.data import invoice


def _feed(text: bytes, size: int, guard: NestingGuard) -> None:
    for start in range(0, len(text), size):
        guard.check(text[start : start + size], start)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_brackets_and_escapes_in_strings_are_not_nesting(size: int) -> None:
    # given 300 strings full of brackets, quotes and backslashes, inside 2 levels
    text = json.dumps([{"k": '[[{{\\" \\\\"' * 3} for _ in range(300)]).encode()
    guard = NestingGuard(max_depth=3)

    # when fed in chunks of any size / then it ends balanced, outside any string
    _feed(text, size, guard)
    assert guard.state() == (0, False, False)


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_nesting_past_the_limit_is_refused(size: int) -> None:
    with pytest.raises(InvalidPayload, match="más de 5 niveles"):
        _feed(b'[{"a": [[[[1]]]]}]', size, NestingGuard(max_depth=5))


@pytest.mark.parametrize("size", [1, 2, 7, 64, 4096])
def test_the_refusal_names_the_byte_of_the_bracket_past_the_limit(size: int) -> None:
    # given brackets, quotes and escapes in strings, then the 6th level opening at byte 39
    text = rb'[{"k": "[[{\\\" [", "v": [["\\", {"w": [{"x": [1]}]}]]}]'
    assert text[39:40] == b"["

    # when fed in chunks of any size / then the message names that byte
    with pytest.raises(InvalidPayload, match="más de 5 niveles de anidamiento en el byte 39;"):
        _feed(text, size, NestingGuard(max_depth=5))


def test_a_deep_payload_is_refused_at_its_201st_level(build: Builder) -> None:
    # given a payload whose 201st level opens past the first megabyte block
    head = b'[{"a": "' + b"[" * 2_000_000 + b'"}, '
    payload = head + b"[" * 300 + b"]" * 300 + b"]"

    # when / then the message names the byte of the 200th "[" after the record (level 201)
    with pytest.raises(InvalidPayload, match=f"en el byte {len(head) + 199};"):
        build(payload)


@pytest.mark.parametrize("size", [3, 100])
def test_a_string_longer_than_the_limit_is_refused(size: int) -> None:
    text = b'["short", "' + b"x" * 1000 + b'"]'
    with pytest.raises(InvalidPayload, match="Hay un texto de más de 500 bytes"):
        _feed(text, size, NestingGuard(max_string=500))


def test_many_short_strings_add_up_to_nothing() -> None:
    text = json.dumps(["x" * 400] * 50).encode()
    _feed(text, 100, NestingGuard(max_string=500))


def test_deep_ndjson_line_is_refused(build: Builder) -> None:
    first = json.dumps(invoice("A")).encode()
    payload = first + b"\n" + b'{"a": ' * 1000 + b"1" + b"}" * 1000 + b"\n" + first
    with pytest.raises(InvalidPayload, match="niveles de anidamiento"):
        build(payload)
