"""Issue 18, the api's part: the cache never crosses clients and every copy is the job's own
report, links never tell a job exists, idempotency keys follow the IETF draft, HEAD on a
download, every field and option checked at submission, honest 503 and schema."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.data import INVOICE
from tests.support.stacks import RunningStack, StackFactory, StackPool, zip_bytes

Q = "/api/AsyncReports"
ERP, CRM, OPS = "erp-key-0123456789abcdef", "crm-key-0123456789abcdef", "ops-key-0123456789abcdef"
KEYS = f"client:erp:{ERP},client:crm:{CRM},operator:ops:{OPS}"
FIELDS = {"reportType": "FacturacionMasiva", "userName": "ana@empresa.com"}


@pytest.fixture(scope="module")
def keyed(infra, tmp_path_factory) -> Iterator[RunningStack]:  # type: ignore[no-untyped-def]
    """A stack with API keys: two clients and an operator."""
    pool = StackPool(infra, tmp_path_factory.mktemp("keyed"))
    yield pool.start(workers=1, api_keys=KEYS)
    pool.stop_all()


@pytest.fixture(scope="module")
def api(module_stack: RunningStack) -> RunningStack:
    return module_stack


def dataset() -> bytes:
    """Records no other test sends (so never served from another test's cache entry)."""
    return json.dumps([{**INVOICE, "invoiceNumber": uuid.uuid4().hex}]).encode()


def submit(
    stack: RunningStack,
    data: bytes,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> httpx.Response:
    sent = {**({"X-API-Key": key} if key else {}), **(headers or {})}
    return stack.client.post(f"{Q}/queue-multipart", data={**FIELDS, **fields}, headers=sent,
                             files={"dataFile": ("d.json", data)})  # fmt: skip


def finished(stack: RunningStack, response: httpx.Response, key: str | None = None) -> Any:
    assert response.status_code == 202, response.text
    job_id = response.json()["jobId"]
    return stack.wait_finished_as(job_id, key) if key else stack.wait_finished(job_id)


def every_text(archive: zipfile.ZipFile) -> str:
    """Every member's bytes as text, the workbook's own members (an XLSX is a ZIP) too."""
    texts = []
    for name in archive.namelist():
        data = archive.read(name)
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                texts += [book.read(inner).decode(errors="replace") for inner in book.namelist()]
        else:
            texts.append(data.decode(errors="replace"))
    return "\n".join(texts)


def payload_objects(stack: RunningStack) -> list[str]:
    return [info.key for info in stack.objects().list("payloads/")]


# --- 4: the report cache ------------------------------------------------------------------


def test_another_client_sending_the_same_bytes_gets_a_report_built_for_it(
    keyed: RunningStack,
) -> None:
    # Given a report the ERP had built
    data = dataset()
    first = finished(keyed, submit(keyed, data, ERP), ERP)
    assert first["status"] == "Completed"
    # When the CRM sends the same bytes
    second = finished(keyed, submit(keyed, data, CRM), CRM)
    # Then its report is its own, built for it: nothing of the ERP's job shows
    assert second["status"] == "Completed"
    assert second["fromCache"] is False
    download = keyed.client.get(second["downloadUrl"], headers={"X-API-Key": CRM})
    with zipfile.ZipFile(zip_bytes(download)) as archive:
        assert json.loads(archive.read("manifest.json"))["jobId"] == second["jobId"]
        assert first["jobId"] not in every_text(archive)


def test_a_copy_from_the_cache_is_the_requesting_jobs_own_report(api: RunningStack) -> None:
    # Given a report built once
    data = dataset()
    first = finished(api, submit(api, data))
    # When the same client sends the same bytes again
    second = finished(api, submit(api, data))
    # Then it is served from the cache, but as its own report: id, file name, every member
    assert second["fromCache"] is True
    assert second["jobId"][:8] in second["fileName"]
    assert first["jobId"][:8] not in second["fileName"]
    download = api.client.get(second["downloadUrl"])
    assert int(download.headers["content-length"]) == second["fileSizeBytes"]
    assert first["jobId"][:8] not in download.headers["content-disposition"]
    with zipfile.ZipFile(zip_bytes(download)) as archive:
        assert archive.testzip() is None
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["jobId"] == second["jobId"]
        assert first["jobId"] not in every_text(archive)
        # And the members it shares with the original are the original's, byte for byte
        for listed in manifest["files"]:
            assert len(archive.read(listed["name"])) == listed["sizeBytes"]


def test_an_operator_may_let_the_cache_serve_every_client(make_stack: StackFactory) -> None:
    # Given a stack whose operator shares the cache between clients
    stack = make_stack(workers=1, api_keys=KEYS, cache_shared_across_clients="true")
    data = dataset()
    first = finished(stack, submit(stack, data, ERP), ERP)
    # When another client sends the same bytes
    second = finished(stack, submit(stack, data, CRM), CRM)
    # Then it is served from the cache, still as the CRM's own report
    assert second["fromCache"] is True
    download = stack.client.get(second["downloadUrl"], headers={"X-API-Key": CRM})
    with zipfile.ZipFile(zip_bytes(download)) as archive:
        assert json.loads(archive.read("manifest.json"))["jobId"] == second["jobId"]
        assert first["jobId"] not in every_text(archive)


# --- 5: download links ------------------------------------------------------------------


def test_another_clients_link_is_answered_as_a_link_that_does_not_exist(
    keyed: RunningStack,
) -> None:
    # Given a link of the ERP's
    done = finished(keyed, submit(keyed, dataset(), ERP), ERP)
    # When the CRM uses it, and when someone uses a made-up token
    theirs = keyed.client.get(done["downloadUrl"], headers={"X-API-Key": CRM})
    made_up = keyed.client.get(f"{Q}/download/{'x' * 43}", headers={"X-API-Key": CRM})
    # Then both answers are the same: nothing tells that the job exists
    assert theirs.status_code == made_up.status_code == 404
    assert theirs.json() == made_up.json()
    assert done["jobId"] not in theirs.text


# --- 6: idempotency keys ----------------------------------------------------------------


def test_an_idempotency_key_reused_with_another_dataset_is_422(api: RunningStack) -> None:
    key = {"Idempotency-Key": f"pedido-{uuid.uuid4()}"}
    first = submit(api, dataset(), headers=key)
    assert first.status_code == 202, first.text
    stored = payload_objects(api)
    # When the same key comes with another dataset
    again = submit(api, dataset(), headers=key)
    # Then it is refused, saying why, and the second dataset is not kept
    assert again.status_code == 422, again.text
    assert "Idempotency-Key" in again.json()["detail"]
    assert set(payload_objects(api)) <= set(stored)
    # And the same key with the same dataset still answers the first job
    data = json.dumps([INVOICE]).encode()
    other = {"Idempotency-Key": f"pedido-{uuid.uuid4()}"}
    one, two = submit(api, data, headers=other), submit(api, data, headers=other)
    assert one.status_code == two.status_code == 202
    assert one.json()["jobId"] == two.json()["jobId"]


def test_an_idempotency_key_reused_with_another_json_body_is_422(api: RunningStack) -> None:
    key = {"Idempotency-Key": f"pedido-{uuid.uuid4()}"}
    body = {**FIELDS, "jsonData": dataset().decode()}
    assert api.client.post(f"{Q}/queue-json", json=body, headers=key).status_code == 202
    again = api.client.post(f"{Q}/queue-json", json={**body, "userName": "otro"}, headers=key)
    assert again.status_code == 422, again.text


# --- 9: HEAD on a download --------------------------------------------------------------


def test_head_on_a_download_answers_its_headers_without_the_body(api: RunningStack) -> None:
    done = finished(api, submit(api, dataset()))
    got = api.client.get(done["downloadUrl"])
    head = api.client.head(done["downloadUrl"])
    assert head.status_code == 200, head.text
    assert head.content == b""
    for name in ("content-length", "content-disposition", "etag", "accept-ranges"):
        assert head.headers[name] == got.headers[name], name
    assert head.headers["content-type"].startswith("application/zip")
    assert api.client.head(f"{Q}/download/{'x' * 43}").status_code == 404


# --- 10: every field and option checked at submission -----------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"formato": "xlsx"}, ["formato", "csvDialect"]),
        ({"csvDialect": "bogus"}, ["bogus", "csvDialect", "rfc4180", "excel-es"]),
    ],
)
def test_an_unknown_field_or_option_value_is_refused_before_anything_is_stored(
    api: RunningStack, fields: dict[str, Any], named: list[str]
) -> None:
    before = set(payload_objects(api))
    response = submit(api, dataset(), **fields)
    assert response.status_code == 400, response.text
    for word in named:
        assert word in response.json()["detail"], word
    assert set(payload_objects(api)) <= before


def test_a_bogus_option_in_a_json_body_is_refused(api: RunningStack) -> None:
    body = {**FIELDS, "jsonData": dataset().decode(), "options": {"csvDialect": "bogus"}}
    response = api.client.post(f"{Q}/queue-json", json=body)
    assert response.status_code == 400, response.text
    assert "bogus" in response.json()["detail"]


def test_a_valid_option_is_still_accepted(api: RunningStack) -> None:
    done = finished(api, submit(api, dataset(), csvDialect="excel-es"))
    assert done["status"] == "Completed", done


#: What an outside tester sent: clears the screen, turns red, forges a line of a table.
FORGED = "evil\u001b[2J\u001b[31mRED\r\nfake line"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"userName": FORGED}, "'userName'"),
        ({"userName": "ana\u0007"}, "'userName'"),
        ({"userName": "ana\u0000b"}, "'userName'"),
        ({"userName": "ana\u009b2J"}, "'userName'"),
        ({"csvDialect": "excel-es\u001b[2J"}, "'csvDialect'"),
    ],
)
def test_control_characters_in_a_stored_text_are_a_400_in_spanish(
    api: RunningStack, fields: dict[str, Any], named: str
) -> None:
    # Shown later to others (the history, an operator's terminal), they would run there
    before = set(payload_objects(api))
    options = {k: v for k, v in fields.items() if k != "userName"}
    json_body: dict[str, Any] = {**FIELDS, "jsonData": dataset().decode(), "options": options}
    json_body["userName"] = fields.get("userName", FIELDS["userName"])
    for response in (
        submit(api, dataset(), **fields),
        api.client.post(f"{Q}/queue-json", json=json_body),
        api.client.post("/api/Reports/generate", json=json_body),
    ):
        assert response.status_code == 400, response.text
        detail = response.json()["detail"]
        assert named in detail and "no admite caracteres de control" in detail, detail
        assert "\u001b" not in detail
    assert set(payload_objects(api)) <= before


# --- 11: the schema says what the api takes -------------------------------------------


def test_the_schema_requires_a_non_empty_report_type(api: RunningStack) -> None:
    paths = api.client.get("/schema/openapi.json").json()["paths"]
    for path, media in (("queue-multipart", "multipart/form-data"),
                        ("queue-json", "application/json")):  # fmt: skip
        body = paths[f"{Q}/{path}"]["post"]["requestBody"]["content"][media]["schema"]
        assert body["properties"]["reportType"]["minLength"] == 1, path


# --- 12: the upload cap's 503 ---------------------------------------------------------


def test_the_upload_caps_503_does_not_send_the_client_to_the_same_endpoint(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(workers=1, max_concurrent_uploads=0)
    response = submit(stack, dataset())
    assert response.status_code == 503, response.text
    assert "queue-multipart" not in response.json()["detail"]
    assert response.headers["retry-after"]
