"""Every endpoint of the api and its errors, against a live stack."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
import uuid
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from reports_shared.jobs import JobRecord
from reports_shared.jobstore import JobStore
from reports_shared.settings import CommonSettings, load_settings
from tests.support.data import INVOICE
from tests.support.stacks import RunningStack, StackFactory, zip_bytes

Q = "/api/AsyncReports"
FIELDS = {
    "reportType": "FacturacionMasiva",
    "userName": "ana@empresa.com",
    "isLargeDataset": "false",
}
DATA = json.dumps([INVOICE]).encode()


@pytest.fixture(scope="module")
def api(module_stack: RunningStack) -> RunningStack:
    return module_stack


def payload_objects(stack: RunningStack) -> list[str]:
    return [info.key for info in stack.objects().list("payloads/")]


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status and body["detail"]
    return body


def completed_job(api: RunningStack) -> dict[str, object]:
    """A job built for it (a dataset of its own, so never from the cache)."""
    data = json.dumps([{**INVOICE, "invoiceNumber": uuid.uuid4().hex}]).encode()
    response = api.client.post(f"{Q}/queue-multipart", data=FIELDS,
                               files={"dataFile": ("d.json", data)})  # fmt: skip
    assert response.status_code == 202
    status = api.wait_finished(response.json()["jobId"])
    assert status["status"] == "Completed", status
    return status


# --- submissions ------------------------------------------------------------------------


def test_report_types_give_the_name_people_read_and_their_options(api: RunningStack) -> None:
    response = api.client.get(f"{Q}/report-types")
    assert response.status_code == 200, response.text
    facturacion = next(t for t in response.json() if t["name"] == "FacturacionMasiva")
    assert facturacion["displayName"] == "Facturación masiva"
    assert facturacion["description"].startswith("Facturación masiva")
    assert facturacion["options"]["csvDialect"] == ["rfc4180", "excel-es"]


def test_an_unknown_report_type_is_refused_before_the_file_is_stored(api: RunningStack) -> None:
    before = payload_objects(api)
    response = api.client.post(f"{Q}/queue-multipart", data={**FIELDS, "reportType": "Nope"},
                               files={"dataFile": ("d.json", DATA)})  # fmt: skip
    body = problem(response, 400)
    assert "FacturacionMasiva" in str(body["detail"])
    assert payload_objects(api) == before


@pytest.mark.parametrize("missing", ["reportType", "userName"])
def test_a_missing_field_is_named(api: RunningStack, missing: str) -> None:
    fields = {k: v for k, v in FIELDS.items() if k != missing}
    response = api.client.post(f"{Q}/queue-multipart", data=fields,
                               files={"dataFile": ("d.json", DATA)})  # fmt: skip
    assert missing in str(problem(response, 400)["detail"])


def test_a_multipart_body_without_a_file_is_refused(api: RunningStack) -> None:
    response = api.client.post(f"{Q}/queue-multipart", files={"reportType": (None, "X")})
    assert "dataFile" in str(problem(response, 400)["detail"])


def test_two_files_are_refused_and_leave_nothing(api: RunningStack) -> None:
    before = payload_objects(api)
    response = api.client.post(
        f"{Q}/queue-multipart", data=FIELDS,
        files=[("dataFile", ("a.json", DATA)), ("dataFile", ("b.json", DATA))],
    )  # fmt: skip
    problem(response, 400)
    assert payload_objects(api) == before


def test_a_huge_form_field_is_refused(api: RunningStack) -> None:
    response = api.client.post(f"{Q}/queue-multipart", data={**FIELDS, "userName": "x" * 100_000},
                               files={"dataFile": ("d.json", DATA)})  # fmt: skip
    problem(response, 413)


def test_a_bad_boundary_is_a_clear_400(api: RunningStack) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=other"}
    response = api.client.post(f"{Q}/queue-multipart", content=b"--nope\r\n\r\n", headers=headers)
    problem(response, 400)


def test_a_wrong_content_type_is_415(api: RunningStack) -> None:
    problem(api.client.post(f"{Q}/queue-multipart", json={"a": 1}), 415)
    problem(
        api.client.post(f"{Q}/queue-json", content=b"x", headers={"Content-Type": "text/csv"}), 415
    )


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    make_stack: StackFactory,
) -> None:
    small = make_stack(workers=1, max_upload_bytes=1000)
    big = b"[" + b" " * 5000 + b"]"
    response = small.client.post(
        f"{Q}/queue-multipart", data=FIELDS, files={"dataFile": ("d.json", big)}
    )
    assert problem(response, 413)["detail"] == "El archivo supera el máximo permitido de 1 kB."


def test_the_limits_are_told_in_the_units_the_page_and_the_command_show(
    make_stack: StackFactory,
) -> None:
    # Given an api that takes files of 5 MiB and JSON bodies of 3 MiB, and 6 MiB of data
    mib = 1024 * 1024
    small = make_stack(workers=1, max_upload_bytes=5 * mib, max_json_bytes=3 * mib)
    big = b"[" + b" " * (6 * mib) + b"]"

    # When it is sent as a form, announced for tus and sent as a JSON body
    form = small.client.post(f"{Q}/queue-multipart", data=FIELDS, files={"dataFile": big})
    tus = small.client.post(
        f"{Q}/uploads", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(big))}
    )
    body = small.client.post(
        f"{Q}/queue-json", content=big, headers={"Content-Type": "application/json"}
    )

    # Then each limit reads in decimal units, labelled so (5 MiB is 5.24 MB, not "5 MB")
    file_limit = "El archivo supera el máximo permitido de 5,2 MB."
    assert problem(form, 413)["detail"] == file_limit
    assert problem(tus, 413)["detail"] == file_limit
    assert problem(body, 413)["detail"] == (
        "El cuerpo supera el máximo de 3,1 MB; use /queue-multipart."
    )


def test_a_chunked_upload_over_the_limit_is_cut_and_leaves_nothing(
    make_stack: StackFactory,
) -> None:
    small = make_stack(workers=1, max_upload_bytes=2 * 1024 * 1024)
    boundary = "b0undary"

    def body() -> Iterator[bytes]:  # no Content-Length: the api counts as it streams
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"reportType\"\r\n\r\n"
               f"FacturacionMasiva\r\n--{boundary}\r\nContent-Disposition: form-data; "
               f"name=\"userName\"\r\n\r\nana\r\n--{boundary}\r\nContent-Disposition: form-data; "
               f"name=\"dataFile\"; filename=\"d.json\"\r\n\r\n[").encode()  # fmt: skip
        for _ in range(100):
            yield b" " * 65536
        yield f"]\r\n--{boundary}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = small.client.post(f"{Q}/queue-multipart", content=body(), headers=headers)
    problem(response, 413)
    time.sleep(0.5)
    assert payload_objects(small) == []
    assert small.client.get(f"{Q}/active-jobs").json()["count"] == 0


def test_an_idempotency_key_returns_the_job_already_created(api: RunningStack) -> None:
    headers = {"Idempotency-Key": "pedido-42"}
    first = api.client.post(
        f"{Q}/queue-json", headers=headers, json={**FIELDS, "jsonData": json.dumps([INVOICE])}
    )
    again = api.client.post(
        f"{Q}/queue-json", headers=headers, json={**FIELDS, "jsonData": json.dumps([INVOICE])}
    )
    assert first.status_code == again.status_code == 202
    assert first.json()["jobId"] == again.json()["jobId"]


def test_queue_json_says_where_the_json_breaks(api: RunningStack) -> None:
    response = api.client.post(
        f"{Q}/queue-json", json={**FIELDS, "jsonData": '[{"a": 1}, {"b": }]'}
    )
    assert "byte" in str(problem(response, 400)["detail"])


def stored_payload(stack: RunningStack, job_id: str) -> tuple[bytes, JobRecord]:
    """What storage holds of a queued job's dataset, and the job's record."""
    settings = load_settings(CommonSettings, stack.env)
    record = JobStore.from_url(settings.redis_url, settings.names).get(job_id)
    assert record is not None
    with stack.objects().open(record.payload_key) as reader:
        return reader.read(), record


def test_datasets_are_stored_compressed_and_one_sent_compressed_as_it_came(
    make_stack: StackFactory,
) -> None:
    # Payloads stay; the cache is off, or a submission of the same dataset after the first
    # is built would be served from its report, its payload deleted at once.
    stack = make_stack(workers=1, janitor=False, delete_payloads="false", cache_enabled="false")
    data = json.dumps([{**INVOICE, "invoiceNumber": f"F-{n}"} for n in range(500)]).encode()
    sent_gzip = gzip.compress(data)
    jobs = {
        name: stack.client.post(f"{Q}/queue-multipart", data=FIELDS,
                                files={"dataFile": ("d.json", body)}).json()["jobId"]
        for name, body in (("plain", data), ("gzip", sent_gzip))
    } | {
        "json": stack.client.post(f"{Q}/queue-json",
                                  json={**FIELDS, "jsonData": data.decode()}).json()["jobId"],
    }  # fmt: skip
    # The worker builds from each alike: every invoice counted, whatever storage holds.
    for job_id in jobs.values():
        finished = stack.wait_finished(job_id)
        assert finished["progress"]["recordsProcessed"] == 500, finished

    stored, record = stored_payload(stack, jobs["plain"])
    assert stored[:2] == b"\x1f\x8b" and gzip.decompress(stored) == data
    assert len(stored) < len(data) / 4
    # The record tells the worker, and keeps the size and hash of what was sent.
    assert record.payload_gzip and record.payload_bytes == len(data)
    assert record.payload_sha256 == hashlib.sha256(data).hexdigest()
    stored, record = stored_payload(stack, jobs["gzip"])
    assert stored == sent_gzip and not record.payload_gzip  # not compressed twice
    assert record.payload_bytes == len(sent_gzip)
    stored, record = stored_payload(stack, jobs["json"])
    assert record.payload_gzip and json.loads(gzip.decompress(stored)) == json.loads(data)


def test_with_compression_off_a_dataset_is_stored_as_sent(make_stack: StackFactory) -> None:
    stack = make_stack(workers=1, janitor=False, delete_payloads="false", compress_payloads="false")
    response = stack.client.post(f"{Q}/queue-multipart", data=FIELDS,
                                 files={"dataFile": ("d.json", DATA)})  # fmt: skip

    stored, record = stored_payload(stack, response.json()["jobId"])

    assert stored == DATA and not record.payload_gzip


# --- status, active jobs, downloads -------------------------------------------------------


def test_an_unknown_job_is_404_in_the_seeds_shape_so_its_clients_stop(api: RunningStack) -> None:
    response = api.client.get(f"{Q}/status/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    body = response.json()
    # The seed's clients poll until Completed or Failed and print the message
    assert body["status"] == "Failed" and "No existe" in body["message"], body
    assert body["detail"] == body["message"] and body["title"], body


def test_status_has_every_field_of_the_seed(api: RunningStack) -> None:
    status = completed_job(api)
    for field in ("jobId", "status", "message", "createdAt", "completedAt", "fileName",
                  "fileSizeBytes", "downloadUrl", "performanceMetrics"):  # fmt: skip
        assert status[field] is not None, field
    metrics = status["performanceMetrics"]
    assert isinstance(metrics, dict)
    assert set(metrics) >= {"processingTimeMs", "memoryUsageMB", "recordsProcessed"}
    assert metrics["memoryUsageMB"] > 0
    progress = status["progress"]
    assert isinstance(progress, dict)
    assert progress["recordsProcessed"] == 1 and progress["percent"] == 100.0
    assert progress["bytesProcessed"] == progress["totalBytes"] > 0


def test_a_download_resumes_with_a_range(api: RunningStack) -> None:
    status = completed_job(api)
    url = str(status["downloadUrl"])
    whole = api.client.get(url)
    assert whole.headers["cache-control"] == "no-store"
    assert "filename*=UTF-8''" in whole.headers["content-disposition"]
    etag = whole.headers["etag"]
    part = api.client.get(url, headers={"Range": "bytes=10-", "If-Range": etag})
    assert part.status_code == 206
    assert (
        part.headers["content-range"] == f"bytes 10-{len(whole.content) - 1}/{len(whole.content)}"
    )
    assert whole.content[:10] + part.content == whole.content
    with zipfile.ZipFile(zip_bytes(whole)) as archive:
        assert "manifest.json" in archive.namelist()
    problem(api.client.get(url, headers={"Range": f"bytes={len(whole.content)}-"}), 416)


def test_an_unknown_download_token_is_404(api: RunningStack) -> None:
    problem(api.client.get(f"{Q}/download/" + "x" * 32), 404)


def test_active_jobs_filter_by_user(api: RunningStack) -> None:
    body = api.client.get(f"{Q}/active-jobs", params={"userName": "nobody@example.com"}).json()
    assert body == {"count": 0, "jobs": []}


#: Headers a HEAD answers as its GET does (the date and the per-request id aside).
SAME_HEADERS = ("content-type", "content-length", "cache-control", "retry-after", "etag")


@pytest.mark.parametrize(
    "path",
    [
        f"{Q}/status/{{job}}",
        f"{Q}/active-jobs",
        f"{Q}/report-types",
        f"{Q}/jobs",
        "/",
        "/schema/openapi.json",
    ],
    ids=["status", "active-jobs", "report-types", "history", "web-page", "openapi"],
)
def test_every_get_resource_answers_head_with_its_headers_and_no_body(
    api: RunningStack, path: str
) -> None:
    # Given a resource that answers GET (the job's status: of a finished job)
    url = path.format(job=completed_job(api)["jobId"]) if "{job}" in path else path
    got = api.client.get(url)
    assert got.status_code == 200, got.text
    # When a client asks HEAD of it (a monitor, a link checker, curl -I)
    head = api.client.head(url)
    # Then it is the GET's answer without its body: not 405
    assert head.status_code == 200, (url, head.status_code, head.headers)
    assert head.content == b""
    for name in SAME_HEADERS:
        assert head.headers.get(name) == got.headers.get(name), (url, name)
    assert int(head.headers["content-length"]) == len(got.content)


def test_head_answers_an_unknown_job_and_a_post_only_route_as_get_would(api: RunningStack) -> None:
    unknown = f"{Q}/status/00000000-0000-0000-0000-000000000000"
    # An unknown job: 404, as its GET
    head = api.client.head(unknown)
    assert (head.status_code, head.content) == (404, b"")
    assert head.headers["content-length"] == api.client.get(unknown).headers["content-length"]
    # A route with no GET: still 405, naming what it allows
    refused = api.client.head(f"{Q}/queue-json")
    assert refused.status_code == 405
    assert "POST" in refused.headers["allow"]
    # A path that is nothing: 404
    assert api.client.head(f"{Q}/nothing-here").status_code == 404


def _requests_counted(api: RunningStack, method: str, path: str) -> float:
    """litestar_requests_total of one method and route template, answered 200."""
    pattern = re.compile(
        r"^litestar_requests_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.MULTILINE
    )
    wanted = {f'method="{method}"', f'path="{path}"', 'status_code="200"'}
    return sum(
        float(found["value"])
        for found in pattern.finditer(api.client.get("/metrics").text)
        if wanted <= set(found["labels"].split(","))
    )


def test_a_head_served_as_its_get_is_counted_as_a_head(api: RunningStack) -> None:
    # Given the counts of GET and HEAD of the report types so far
    path = f"{Q}/report-types"
    gets, heads = _requests_counted(api, "GET", path), _requests_counted(api, "HEAD", path)

    # When a monitor asks HEAD of it three times
    for _ in range(3):
        assert api.client.head(path).status_code == 200

    # Then the metrics count three HEADs, and no GET
    assert _requests_counted(api, "HEAD", path) == heads + 3
    assert _requests_counted(api, "GET", path) == gets


# --- the synchronous path -----------------------------------------------------------------


def test_the_synchronous_endpoint_answers_the_zip_itself(api: RunningStack) -> None:
    response = api.client.post(
        "/api/Reports/generate", json={**FIELDS, "jsonData": json.dumps([INVOICE])}
    )
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(zip_bytes(response)) as archive:
        assert json.loads(archive.read("manifest.json"))["recordsProcessed"] == 1


def test_ndjson_in_json_data_is_accepted_on_both_json_paths(api: RunningStack) -> None:
    # Given three invoices as NDJSON (one object per line), in jsonData's string
    run = uuid.uuid4().hex
    lines = [json.dumps({**INVOICE, "invoiceNumber": f"{run}-{n}"}) for n in range(3)]
    body = {**FIELDS, "jsonData": "\n".join(lines) + "\n"}

    # When it is queued, and sent to the synchronous endpoint
    queued = api.client.post(f"{Q}/queue-json", json=body)
    built = api.client.post("/api/Reports/generate", json=body)

    # Then both build the three records, as multipart does with the same file
    assert queued.status_code == 202, queued.text
    final = api.wait_finished(queued.json()["jobId"])
    assert final["status"] == "Completed", final
    assert final["progress"]["recordsProcessed"] == 3, final
    assert built.status_code == 200, built.text
    with zipfile.ZipFile(zip_bytes(built)) as archive:
        assert json.loads(archive.read("manifest.json"))["recordsProcessed"] == 3


def test_a_broken_ndjson_line_or_json_is_a_400_all_in_spanish(api: RunningStack) -> None:
    broken = {**FIELDS, "jsonData": json.dumps(INVOICE) + '\n{"invoiceNumber": '}
    detail = problem(api.client.post(f"{Q}/queue-json", json=broken), 400)["detail"]
    assert detail == (
        "'jsonData' es NDJSON y su línea 2 no es JSON válido: el JSON está incompleto, "
        "termina en el byte 18."
    )
    trailing = {**FIELDS, "jsonData": json.dumps([INVOICE]) + " x"}
    detail = problem(api.client.post("/api/Reports/generate", json=trailing), 400)["detail"]
    assert "sobran caracteres tras el final del JSON (byte" in str(detail), detail
    body = api.client.post(f"{Q}/queue-json", content=b'{"reportType": "x",',
                           headers={"content-type": "application/json"})  # fmt: skip
    detail = problem(body, 400)["detail"]
    assert detail == "El cuerpo no es JSON válido: el JSON está incompleto, termina en el byte 19."
    mistyped = api.client.post(f"{Q}/queue-json", json={**FIELDS, "userName": 3})
    assert problem(mistyped, 400)["detail"] == (
        "Cuerpo JSON inválido: 'userName' debe ser un texto o null, no un número."
    )


@pytest.mark.parametrize("path", [f"{Q}/queue-json", "/api/Reports/generate"])
def test_a_compressed_json_body_is_a_415_saying_where_gzip_goes(
    api: RunningStack, path: str
) -> None:
    body = gzip.compress(json.dumps({**FIELDS, "jsonData": json.dumps([INVOICE])}).encode())
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    detail = problem(api.client.post(path, content=body, headers=headers), 415)["detail"]
    assert "Content-Encoding 'gzip'" in str(detail) and "/queue-multipart" in str(detail)


def test_the_synchronous_endpoint_sends_big_datasets_to_the_queue(make_stack: StackFactory) -> None:
    small = make_stack(workers=1, sync_max_records=2)
    response = small.client.post(
        "/api/Reports/generate", json={**FIELDS, "jsonData": json.dumps([INVOICE] * 3)}
    )
    assert "queue-json" in str(problem(response, 413)["detail"])


# --- operations ---------------------------------------------------------------------------


def test_health_ready_metrics_and_openapi_answer(api: RunningStack) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    ready = api.client.get("/ready").json()
    assert ready["status"] == "ready", ready
    # HEAD too, without a body (a monitor's probe; before: 405)
    for path in ("/health", "/ready"):
        probed = api.client.head(path)
        assert probed.status_code == 200 and probed.content == b"", (path, probed)
    metrics = api.client.get("/metrics")
    assert metrics.status_code == 200
    assert 'litestar_requests_total{app_name="async_reports_api"' in metrics.text
    paths = api.client.get("/schema/openapi.json").json()["paths"]
    assert f"{Q}/status/{{job_id}}" in paths
