"""Pure parts of the api: ranges, file names, inline datasets, flags, the upload pipe."""

from __future__ import annotations

import asyncio
import hashlib
import threading

import msgspec
import pytest

from reports_api.errors import InvalidRequest, RangeNotSatisfiable, UnsupportedMediaType
from reports_api.intake.payloads import decode_body, inline_dataset
from reports_api.intake.pipe import UploadPipe
from reports_api.intake.sniff import looks_like
from reports_api.intake.submissions import parse_flag
from reports_api.intake.uploads import decimal_size
from reports_api.jobs.downloads import byte_range, content_disposition
from reports_shared.errors import InvalidPayload
from reports_shared.tokens import DownloadTokens


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
    ],
)
def test_byte_ranges_resume_a_download(header: str | None, expected: object) -> None:
    assert byte_range(header, 1000) == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (999, "999 B"),
        (1000, "1 kB"),
        (99_999, "99,9 kB"),
        (5 * 1024 * 1024, "5,2 MB"),
        (5_000_000, "5 MB"),
        (100 * 1024 * 1024, "104 MB"),  # 104.86: a limit never reads as more than it is
        (500 * 1024 * 1024, "524 MB"),
        (2 * 10**9, "2 GB"),
    ],
)
def test_limits_read_in_decimal_units_as_the_page_shows_sizes(count: int, expected: str) -> None:
    assert decimal_size(count) == expected


def test_a_range_past_the_end_is_refused() -> None:
    with pytest.raises(RangeNotSatisfiable):
        byte_range("bytes=1000-", 1000)


def test_file_names_are_quoted_for_the_header() -> None:
    header = content_disposition('rep"orte ñ/../x.zip')
    assert header.startswith('attachment; filename="rep_orte___.._x.zip"')
    assert "filename*=UTF-8''rep%22orte%20%C3%B1%2F..%2Fx.zip" in header


def test_json_data_as_a_string_is_unwrapped_and_counted() -> None:
    body = decode_body(b'{"reportType":"T","userName":"u","jsonData":"[{\\"a\\":1},{}]"}')
    dataset = inline_dataset(body.json_data)
    assert (dataset.data, dataset.records) == (b'[{"a":1},{}]', 2)


def test_json_data_inline_is_kept_as_sent() -> None:
    body = decode_body(b'{"jsonData": {"facturas": [1, 2, 3]}}')
    dataset = inline_dataset(body.json_data)
    assert dataset.records == 3
    assert msgspec.json.decode(dataset.data) == {"facturas": [1, 2, 3]}


def test_truncated_json_data_says_where_it_ends() -> None:
    body = decode_body(b'{"jsonData": "[{\\"a\\": 1},"}')
    with pytest.raises(InvalidPayload, match="byte 10"):
        inline_dataset(body.json_data)


def test_missing_json_data_is_a_missing_field() -> None:
    with pytest.raises(InvalidRequest, match="jsonData"):
        inline_dataset(decode_body(b'{"reportType": "T"}').json_data)


def test_a_scalar_is_not_a_dataset() -> None:
    with pytest.raises(InvalidPayload, match="arreglo"):
        inline_dataset(decode_body(b'{"jsonData": 5}').json_data)
    with pytest.raises(UnsupportedMediaType, match="valor JSON suelto"):
        inline_dataset(decode_body(b'{"jsonData": "5"}').json_data)


@pytest.mark.parametrize("json_data", [b"[]", b'"[]"', b'{"facturas": []}'])
def test_an_empty_list_of_records_is_refused_at_submission(json_data: bytes) -> None:
    body = decode_body(b'{"jsonData": ' + json_data + b"}")
    with pytest.raises(InvalidPayload, match="vacía"):
        inline_dataset(body.json_data)


@pytest.mark.parametrize(
    ("head", "looks"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "un PDF"),
        (b"PK\x03\x04\x14\x00", "un ZIP"),
        (b"\xef\xbb\xbffecha;importe;moneda\r\n2024-01-01;10,5;EUR\r\n", "un CSV"),
        (b"invoiceNumber,total\nF-1,10\n", "un CSV"),
        (b"1,2,3\n", "un CSV"),
        (b"<?xml version='1.0'?><a/>", "XML o HTML"),
        (b"\xff\xfe[\x00{\x00", "UTF-16"),
        (b"42", "valor JSON suelto"),
        (b'"texto"', "valor JSON suelto"),
        (b"true", "valor JSON suelto"),
        (b"hola mundo", "texto que no es JSON"),
    ],
)
def test_first_bytes_that_cannot_start_a_dataset_say_what_they_look_like(
    head: bytes, looks: str
) -> None:
    found = looks_like(head)
    assert found is not None and looks in found


@pytest.mark.parametrize(
    "head",
    [
        b"[",
        b'{"facturas": [',
        b"\xef\xbb\xbf \r\n\t[{}]",
        b'{"a":1}\n{"a":2}\n',
        b"\x1f\x8b\x08",
        b"",
        b"  ",
    ],
)
def test_first_bytes_of_a_dataset_pass(head: bytes) -> None:
    assert looks_like(head) is None


@pytest.mark.parametrize(("text", "value"), [("true", True), ("False", False), ("", False)])
def test_flags_read_like_the_seed_sends_them(text: str, value: bool) -> None:
    assert parse_flag("isLargeDataset", text) is value


def test_a_flag_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="isLargeDataset"):
        parse_flag("isLargeDataset", "maybe")


def test_the_pipe_hands_every_byte_to_the_reader_and_hashes_them() -> None:
    # Given a reader thread pulling odd-sized reads, as the S3 client does
    pipe = UploadPipe(depth=2)
    chunks = [bytes([i]) * (1000 + i) for i in range(50)]
    received = bytearray()

    def reader() -> None:
        while data := pipe.read(777):
            received.extend(data)

    thread = threading.Thread(target=reader)
    thread.start()

    # When the event loop pushes chunks faster than the pipe holds them
    async def push() -> None:
        for chunk in chunks:
            await pipe.push(chunk)
        await pipe.close()

    asyncio.run(push())
    thread.join(5)

    # Then the reader got them all, in order, and the hash matches
    whole = b"".join(chunks)
    assert bytes(received) == whole
    assert pipe.size == len(whole)
    assert pipe.sha256 == hashlib.sha256(whole).hexdigest()


def test_an_aborted_pipe_fails_its_reader() -> None:
    pipe = UploadPipe()
    asyncio.run(pipe.abort(ValueError("client went away")))
    with pytest.raises(ValueError, match="client went away"):
        pipe.read(10)


def test_download_tokens_are_long_stable_and_bound_to_their_job() -> None:
    tokens = DownloadTokens("secret")
    token = tokens.mint("job-1")
    assert len(token) >= 43  # 256 bits, URL-safe
    assert token == tokens.mint("job-1")
    assert tokens.matches(token, "job-1")
    assert not tokens.matches(token, "job-2")
    assert not DownloadTokens("other secret").matches(token, "job-1")
