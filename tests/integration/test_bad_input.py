"""Bad input never costs a 500, a crash or a stuck job: a clear 4xx, or Failed saying why."""

from __future__ import annotations

import gzip
import json
import uuid
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
        (b"[" * 100_000 + b"]" * 100_000, ("byte",)),  # nested 100,000 deep
        (b'[{"notes": "' + b"x" * 50_000_000 + b'"}]', ()),  # one 50 MB string
        (gzip.compress(b"[" + b" " * 60_000_000 + b"]"), ()),  # gzip bomb past the cap
        (json.dumps([{"invoiceNumber": 1}, {"items": "none"}]).encode(), ("registro",)),
    ],
    ids=[
        "truncated",
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


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 40
CSV = b"invoiceNumber;fecha;total\r\nF-1;2024-01-31;1.234,50\r\n" * 40
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4
NOT_DATASETS = [
    (PDF, "parece un PDF"),
    (CSV, "parece un CSV"),
    (ZIP, "parece un ZIP"),
    (b"42", "valor JSON suelto"),
    (b'"just a string"', "valor JSON suelto"),
    (b"\xff\xfe[\x00{\x00}\x00]\x00", "UTF-16"),
]
NOT_DATASET_IDS = ["pdf", "csv", "zip", "number", "string", "utf16"]


def recorded(stack: RunningStack) -> set[str]:
    """What storage holds and which uploads are marked, now."""
    marked = stack.redis().scan_iter(f"{stack.namespace}:uploading:*")
    return {info.key for info in stack.objects().list("")} | {key.decode() for key in marked}


def nothing_recorded(stack: RunningStack, user: str, before: set[str]) -> None:
    """No job of ``user`` is listed; no new object is stored, no new upload marked."""
    listed = stack.client.get(f"{Q}/jobs", params={"userName": user})
    assert listed.status_code == 200 and listed.json()["jobs"] == [], listed.text
    assert recorded(stack) <= before


@pytest.mark.parametrize(("data", "looks"), NOT_DATASETS, ids=NOT_DATASET_IDS)
def test_a_file_that_cannot_be_json_is_refused_at_once_saying_what_it_looks_like(
    strict: RunningStack, data: bytes, looks: str
) -> None:
    # Given a file that is plainly not a JSON dataset, and what storage holds now
    user = f"qa-{uuid.uuid4().hex[:8]}"
    stored = recorded(strict)

    # When it is sent as the multipart file
    response = send(strict, data, userName=user)

    # Then it is refused at once, naming what it looks like, and nothing is recorded
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert looks in response.json()["detail"]
    assert "dataFile" in response.json()["detail"]
    nothing_recorded(strict, user, stored)


@pytest.mark.parametrize("path", [f"{Q}/queue-json", "/api/Reports/generate"])
@pytest.mark.parametrize(("data", "looks"), NOT_DATASETS[:2], ids=NOT_DATASET_IDS[:2])
def test_json_data_that_cannot_be_json_is_refused_at_once_saying_what_it_looks_like(
    strict: RunningStack, path: str, data: bytes, looks: str
) -> None:
    # Given a JSON body whose jsonData holds the text of a CSV or a PDF
    user = f"qa-{uuid.uuid4().hex[:8]}"
    stored = recorded(strict)
    text = data.decode("latin-1")
    body = {"reportType": "FacturacionMasiva", "userName": user, "jsonData": text}

    # When it is sent
    response = strict.client.post(path, json=body)

    # Then it is refused at once, naming what it looks like, and nothing is recorded
    assert response.status_code == 415, response.text
    assert looks in response.json()["detail"]
    assert "jsonData" in response.json()["detail"]
    nothing_recorded(strict, user, stored)


@pytest.mark.parametrize("path", [f"{Q}/queue-json", "/api/Reports/generate"])
@pytest.mark.parametrize("where", ["userName", "jsonData"])
def test_a_json_body_in_latin_1_is_a_400_saying_so(
    strict: RunningStack, path: str, where: str
) -> None:
    # Given a JSON body encoded in Latin-1, its "é" in the user name or in a record
    user = f"qa-{uuid.uuid4().hex[:8]}"
    stored = recorded(strict)
    record = {**INVOICE, "customerName": "José Pérez" if where == "jsonData" else "Ana"}
    name = f"{user}-José" if where == "userName" else user
    body = json.dumps(
        {"reportType": "FacturacionMasiva", "userName": name, "jsonData": [record]},
        ensure_ascii=False,
    ).encode("latin-1")

    # When it is sent
    response = strict.client.post(path, content=body, headers={"Content-Type": "application/json"})

    # Then it is a 400 saying the body is not UTF-8 and where (before: a 500 for the user
    # name; a job accepted that failed in the worker for the record), and nothing is recorded
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert "no es texto UTF-8 (byte " in detail, detail
    nothing_recorded(strict, user, stored)


def test_a_gzip_file_and_a_file_shorter_than_the_bytes_checked_are_taken(
    strict: RunningStack,
) -> None:
    for data in (gzip.compress(b"[" + GOOD + b"]"), b" [" + GOOD + b"]"):
        response = send(strict, data)
        assert response.status_code == 202, response.text
        assert strict.wait_finished(response.json()["jobId"])["status"] == "Completed"


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


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'--b\r\nContent-Disposition: form-data; name="userName"\r\n\r\nqa\r\n',
         "Cuerpo multipart mal formado: el cuerpo termina antes del boundary de cierre."),
        (b'--b\r\nContent-Type: text/plain\r\n\r\nqa\r\n--b--\r\n',
         "Cuerpo multipart mal formado: a una parte le falta Content-Disposition."),
    ],
)  # fmt: skip
def test_a_malformed_multipart_body_is_told_in_spanish(
    strict: RunningStack, body: bytes, says: str
) -> None:
    headers = {"content-type": "multipart/form-data; boundary=b"}
    response = strict.client.post(f"{Q}/queue-multipart", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == says


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
