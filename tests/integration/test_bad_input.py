"""Bad input never costs a 500, a crash or a stuck job: a clear 4xx, or Failed saying why."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.data import INVOICE
from tests.support.infra import Infra
from tests.support.stacks import RunningStack, StackPool

Q = "/api/AsyncReports"
GOOD = json.dumps(INVOICE).encode()


@pytest.fixture(scope="module")
def strict(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack whose workers refuse payloads over 20 MB once decompressed."""
    pool = StackPool(infra, tmp_path_factory.mktemp("strict"))
    yield pool.start(workers=2, max_decompressed_bytes=20_000_000, cache_enabled="false")
    pool.stop_all()


def send(
    stack: RunningStack, data: bytes, name: str = "datos.json", **fields: str
) -> httpx.Response:
    form = {"reportType": "FacturacionMasiva", "userName": "qa", **fields}
    return stack.client.post(f"{Q}/queue-multipart", data=form,
                             files={"dataFile": (name, data, "application/json")})  # fmt: skip


def failed_with(stack: RunningStack, data: bytes, *fragments: str) -> str:
    response = send(stack, data)
    assert response.status_code == 202, response.text
    final = stack.wait_finished(response.json()["jobId"], timeout=90)
    assert final["status"] == "Failed", final
    message: str = final["message"]
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        (b"[" + GOOD + b"," + GOOD[:40], ("byte",)),  # truncated
        (b"42", ()),  # wrong top-level type
        (b'"just a string"', ()),
        (b"\xff\xfe\x00[{}]", ()),  # not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, ("byte",)),  # nested 100,000 deep
        (b'[{"notes": "' + b"x" * 50_000_000 + b'"}]', ()),  # one 50 MB string
        (gzip.compress(b"[" + b" " * 60_000_000 + b"]"), ()),  # gzip bomb past the cap
        (json.dumps([{"invoiceNumber": 1}, {"items": "none"}]).encode(), ("registro",)),
    ],
    ids=[
        "truncated",
        "number",
        "string",
        "not-utf8",
        "deep",
        "huge-string",
        "gzip-bomb",
        "nothing-usable",
    ],
)
def test_unusable_payloads_fail_the_job_with_a_message(
    strict: RunningStack, data: bytes, fragments: tuple[str, ...]
) -> None:
    message = failed_with(strict, data, *fragments)
    assert len(message) > 20  # a sentence a person can act on


def test_a_utf8_bom_is_accepted(strict: RunningStack) -> None:
    response = send(strict, b"\xef\xbb\xbf[" + GOOD + b"]")
    assert strict.wait_finished(response.json()["jobId"])["status"] == "Completed"


def test_bad_records_are_skipped_and_reported_while_good_ones_count(strict: RunningStack) -> None:
    item = {**INVOICE["items"][0], "quantity": "1e400"}
    records = [
        INVOICE,
        {**INVOICE, "invoiceNumber": "F-2", "items": [item]},  # too large for a decimal
        {**INVOICE, "invoiceNumber": "F-3", "currency": "XXX1"},  # no such currency
    ]
    response = send(strict, json.dumps(records).encode())
    final = strict.wait_finished(response.json()["jobId"])
    assert final["status"] == "Completed", final
    assert final["performanceMetrics"]["recordsProcessed"] == 1
    assert final["recordsRejected"] == 2


def test_an_empty_file_is_refused_at_once(strict: RunningStack) -> None:
    response = send(strict, b"")
    assert response.status_code == 400
    assert "vacío" in response.json()["detail"]


def test_an_oversized_user_name_is_refused(strict: RunningStack) -> None:
    response = send(strict, GOOD, userName="x" * 300)
    assert response.status_code == 400
    assert "userName" in response.json()["detail"]


def test_a_path_like_file_name_never_reaches_storage_keys(strict: RunningStack) -> None:
    response = send(strict, b"[" + GOOD + b"]", name="../../etc/passwd")
    assert response.status_code == 202
    job = response.json()["jobId"]
    keys = [info.key for info in strict.objects().list("")]
    assert all(".." not in key and "passwd" not in key for key in keys)
    assert strict.wait_finished(job)["status"] == "Completed"


@pytest.mark.parametrize("path", [f"{Q}/queue-json", "/api/Reports/generate"])
def test_json_nested_deeper_than_a_parser_follows_is_a_400_saying_so(
    strict: RunningStack, path: str
) -> None:
    deep = "[" * 5000 + "]" * 5000
    inline = f'{{"reportType": "FacturacionMasiva", "userName": "qa", "jsonData": {deep}}}'
    in_string = json.dumps({"reportType": "FacturacionMasiva", "userName": "qa", "jsonData": deep})
    for body in (inline, in_string):
        response = strict.client.post(
            path, content=body.encode(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert "anidado demasiado profundo" in response.json()["detail"]
