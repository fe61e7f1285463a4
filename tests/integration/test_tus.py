"""Resumable uploads over tus 1.0, with the real third-party client tuspy and plain httpx."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tusclient.client import TusClient
from tusclient.uploader.uploader import Uploader

from reports_shared.constants import Names
from reports_shared.jobstore.records import decode_record
from reports_shared.objectstore import PART_SIZE
from tests.support.data import INVOICE
from tests.support.infra import Infra
from tests.support.proxy import CuttingProxy
from tests.support.stacks import RunningStack, StackFactory, StackPool, wait_until, zip_bytes

Q = "/api/AsyncReports"
MIB = 1024 * 1024
ERP = "erp-tus-key-000000000000"
CRM = "crm-tus-key-000000000000"
KEYS = f"client:erp:{ERP},client:crm:{CRM},operator:ops:ops-tus-key-00000000000"
TUS = {"Tus-Resumable": "1.0.0"}
#: INVOICE is 3 x 12.50 plus 18 % tax: 44.25 PEN.
INVOICE_TOTAL_CENTS = 4425
METADATA = {"reportType": "FacturacionMasiva", "userName": "ana@empresa.com"}


@pytest.fixture(scope="module")
def api(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack with two client keys, shared by this module's tests. Payloads stay: a test
    reads one after its upload, when the job may already be built."""
    pool = StackPool(infra, tmp_path_factory.mktemp("tus"))
    yield pool.start(workers=1, api_keys=KEYS, delete_payloads="false")
    pool.stop_all()


def dataset(count: int) -> bytes:
    """``count`` invoices of 44.25 PEN each, as a JSON array."""
    return json.dumps(
        [{**INVOICE, "invoiceNumber": f"F001-{n:08d}"} for n in range(count)]
    ).encode()


def tus_client(api: RunningStack, key: str = ERP) -> TusClient:
    return TusClient(f"{api.url}{Q}/uploads", headers={"X-API-Key": key})


def encode_metadata(fields: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def creation_headers(length: int, key: str, metadata: dict[str, str]) -> dict[str, str]:
    """A tus creation's headers, with the seed's fields unless told otherwise."""
    return {**TUS, "X-API-Key": key, "Upload-Length": str(length),
            "Upload-Metadata": encode_metadata(metadata or METADATA)}  # fmt: skip


def create(api: RunningStack, length: int, key: str = ERP, **metadata: str) -> httpx.Response:
    """POST /uploads (tus creation) with the seed's fields unless told otherwise."""
    return api.client.post(f"{Q}/uploads", headers=creation_headers(length, key, metadata))


def create_with_upload(api: RunningStack, data: bytes) -> httpx.Response:
    """POST /uploads with every byte of ``data`` (creation-with-upload), the seed's fields."""
    headers = {**creation_headers(len(data), ERP, METADATA),
               "Content-Type": "application/offset+octet-stream"}  # fmt: skip
    return api.client.post(f"{Q}/uploads", headers=headers, content=data)


def send(
    api: RunningStack, url: str, offset: int, body: bytes, key: str = ERP, **headers: str
) -> httpx.Response:
    """A PATCH of ``body`` at ``offset``."""
    sent = {**TUS, "X-API-Key": key, "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream", **headers}  # fmt: skip
    return api.client.patch(url, content=body, headers=sent)


def job_of(uploader: Uploader) -> str:
    """The job id the last PATCH named in Upload-Job-Url."""
    assert uploader.request is not None
    url: str = uploader.request.response_headers["upload-job-url"]
    return url.rsplit("/", 1)[1]


def assert_totals(api: RunningStack, job_id: str, count: int) -> None:
    status = api.wait_finished_as(job_id, ERP, timeout=120)
    assert status["status"] == "Completed", status
    download = api.client.get(status["downloadUrl"], headers={"X-API-Key": ERP})
    with zipfile.ZipFile(zip_bytes(download)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["recordsProcessed"] == count
    cents = count * INVOICE_TOTAL_CENTS
    assert manifest["totals"]["PEN"]["total"] == f"{cents // 100}.{cents % 100:02d}"


def payload_sha256(api: RunningStack, job_id: str) -> str:
    """The SHA-256 the job's record holds for its payload (the cache's and idempotency's)."""
    record = decode_record(api.redis().hgetall(Names(api.namespace).job(job_id)))  # type: ignore[arg-type]
    assert record is not None
    return record.payload_sha256


def read_back(api: RunningStack, job_id: str) -> list[bool]:
    """Whether the api read the finished upload back to hash it (its log says)."""
    found = []
    for line in api.logs().splitlines():
        _, brace, body = line.partition("{")
        if '"tus_upload_hashed"' in body and job_id in body:
            found.append(bool(json.loads(brace + body)["read_back"]))
    return found


def leftovers(api: RunningStack, upload_id: str) -> tuple[list[Any], list[Any]]:
    """The multipart uploads and tail objects storage still holds for an upload."""
    objects = api.objects()
    return objects.pending_uploads(f"payloads/{upload_id}"), list(objects.list(f"tus/{upload_id}/"))


def patch_in_background(
    api: RunningStack, url: str, body: Iterator[bytes]
) -> tuple[threading.Thread, list[httpx.Response]]:
    """A PATCH of ``body`` from offset 0, sent from a thread of its own (started); its answer
    is in the list once the thread is joined."""
    answers: list[httpx.Response] = []

    def patch() -> None:
        with httpx.Client(base_url=api.url, timeout=60) as client:
            headers = {**TUS, "X-API-Key": ERP, "Upload-Offset": "0",
                       "Content-Type": "application/offset+octet-stream"}  # fmt: skip
            answers.append(client.patch(url, content=body, headers=headers))

    sending = threading.Thread(target=patch)
    sending.start()
    return sending, answers


def until_a_request_holds(api: RunningStack, url: str) -> None:
    """Wait until the server has taken the upload for a request (its PATCH lock): a body's
    first bytes leaving the client do not mean the server has begun the PATCH."""
    lock = Names(api.namespace).tus_upload(url.rsplit("/", 1)[1]) + ":lock"
    wait_until(lambda: api.redis().exists(lock), 30, 0.02, "the PATCH to hold the upload")


@pytest.mark.parametrize(
    ("chunk", "count"),
    [(3 * MIB, 40_000), (7 * MIB, 41_000)],  # other data: the second is not a cache hit
    ids=["chunks-under-a-part", "over-a-part"],
)
def test_tuspy_uploads_a_dataset_in_chunks_and_the_job_totals_are_exact(
    api: RunningStack, chunk: int, count: int
) -> None:
    # Given ~10 MB of invoices (parts of 5 MiB, and a tail carried between PATCHes)
    data = dataset(count)
    assert len(data) > 2 * 5 * MIB
    # When tuspy uploads it in chunks of this size
    uploader = tus_client(api).uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk, metadata=METADATA
    )
    uploader.upload()
    # Then the last PATCH named the job, stored byte for byte, and its totals are exact
    job_id = job_of(uploader)
    assert api.objects().stat(f"payloads/{job_id}").size == len(data)
    assert_totals(api, job_id, count)
    # And its SHA-256 was carried from PATCH to PATCH (this one api), not read back, exact
    assert payload_sha256(api, job_id) == hashlib.sha256(data).hexdigest()
    assert read_back(api, job_id) == [False]
    assert uploader.url is not None
    assert leftovers(api, uploader.url.rsplit("/", 1)[1]) == ([], [])


def test_an_upload_resumes_from_the_offset_head_gives(api: RunningStack) -> None:
    # Given half of a dataset sent, then the client gone
    count = 30_000
    data = dataset(count)
    first = tus_client(api).uploader(
        file_stream=io.BytesIO(data), chunk_size=2 * MIB, metadata=METADATA
    )
    first.upload(stop_at=len(data) // 2)
    assert first.url is not None
    # When a new client asks where it stands
    head = api.client.head(first.url, headers={**TUS, "X-API-Key": ERP})
    assert head.status_code == 200
    offset = int(head.headers["upload-offset"])
    assert len(data) // 2 <= offset < len(data)
    assert head.headers["upload-length"] == str(len(data))
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["upload-expires"].endswith("GMT")
    # Then it sends the rest from there and the job is exact
    rest = tus_client(api).uploader(file_stream=io.BytesIO(data), chunk_size=4 * MIB, url=first.url)
    assert rest.offset == offset
    rest.upload()
    assert_totals(api, job_of(rest), count)


def test_the_protocol_errors_are_tus_answers_with_problem_details(api: RunningStack) -> None:
    created = create(api, 1000)
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    body = dataset(3)[:100]
    # A wrong offset: 409
    wrong = send(api, url, 50, body)
    assert wrong.status_code == 409
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.headers["tus-resumable"] == "1.0.0"
    assert wrong.json()["uploadOffset"] == 0
    # No Tus-Resumable: 412
    assert send(api, url, 0, body, **{"Tus-Resumable": ""}).status_code == 412
    headers = {"X-API-Key": ERP, "Upload-Offset": "0",
               "Content-Type": "application/offset+octet-stream"}  # fmt: skip
    assert api.client.patch(url, content=body, headers=headers).status_code == 412
    # Another content type: 415
    assert send(api, url, 0, body, **{"Content-Type": "application/json"}).status_code == 415
    # Past Upload-Length: 413
    assert send(api, url, 0, b"[" + b" " * 1000).status_code == 413
    # Unknown: 404; another key's: 404 for every method
    assert send(api, f"{Q}/uploads/no-such-upload", 0, body).status_code == 404
    assert send(api, url, 0, body, key=CRM).status_code == 404
    crm = {**TUS, "X-API-Key": CRM}
    assert api.client.head(url, headers=crm).status_code == 404
    assert api.client.delete(url, headers=crm).status_code == 404
    # And the owner's upload is untouched by all that
    assert send(api, url, 0, body).headers["upload-offset"] == "100"


def checksum(algorithm: str, body: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, body).digest()).decode()}"


def test_a_patch_whose_checksum_does_not_match_gets_460_and_nothing_of_it_is_kept(
    api: RunningStack,
) -> None:
    # Given an upload (13.6 MiB) holding a whole part and a 2 MiB tail, sent with its SHA-1
    count = 52_000
    data = dataset(count)
    url = create(api, len(data)).headers["location"]
    upload_id = url.rsplit("/", 1)[1]
    first = data[: 7 * MIB]
    sent = send(api, url, 0, first, **{"Upload-Checksum": checksum("sha1", first)})
    assert sent.status_code == 204, sent.text
    assert sent.headers["upload-offset"] == str(len(first))
    before = leftovers(api, upload_id)
    assert [len(found) for found in before] == [1, 1]
    # When the next 5 MiB (enough to fill a part) come with another body's checksum
    rest = data[7 * MIB :]
    wrong = send(api, url, 7 * MIB, rest[: 5 * MIB],
                 **{"Upload-Checksum": checksum("sha1", rest[1 : 5 * MIB + 1])})  # fmt: skip
    # Then 460 with problem details, the offset unchanged and storage's tail the same
    assert wrong.status_code == 460, wrong.text
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.headers["tus-resumable"] == "1.0.0"
    assert wrong.json()["uploadOffset"] == len(first)
    head = api.client.head(url, headers={**TUS, "X-API-Key": ERP})
    assert head.headers["upload-offset"] == str(len(first))
    assert [t.key for t in leftovers(api, upload_id)[1]] == [t.key for t in before[1]]
    # And an unknown algorithm or a malformed digest is a 400
    assert send(api, url, 7 * MIB, b"x", **{"Upload-Checksum": "crc32 AAAA"}).status_code == 400
    assert send(api, url, 7 * MIB, b"x", **{"Upload-Checksum": "sha1 nope"}).status_code == 400
    # And the rest sent with matching checksums (sha256, md5) makes an exact job
    middle, last = rest[: 5 * MIB], rest[5 * MIB :]
    assert send(api, url, 7 * MIB, middle,
                **{"Upload-Checksum": checksum("sha256", middle)}).status_code == 204  # fmt: skip
    done = send(api, url, 12 * MIB, last, **{"Upload-Checksum": checksum("md5", last)})
    assert done.status_code == 204, done.text
    job_id = done.headers["upload-job-url"].rsplit("/", 1)[1]
    assert payload_sha256(api, job_id) == hashlib.sha256(data).hexdigest()
    assert_totals(api, job_id, count)
    assert leftovers(api, upload_id) == ([], [])


def test_bad_metadata_is_refused_at_creation_before_any_byte(api: RunningStack) -> None:
    unknown = create(api, 1000, reportType="NoExiste", userName="ana")
    assert unknown.status_code == 400
    assert "FacturacionMasiva" in unknown.json()["validReportTypes"]
    no_user = create(api, 1000, reportType="FacturacionMasiva")
    assert "userName" in no_user.json()["detail"]
    option = create(api, 1000, **METADATA, color="rojo")
    assert option.status_code == 400 and "color" in option.json()["detail"]
    forged = create(api, 1000, reportType="FacturacionMasiva", userName="a\u001b[2J\r\nb")
    assert forged.status_code == 400
    assert "'userName' no admite caracteres de control" in forged.json()["detail"]
    headers = {**TUS, "X-API-Key": ERP, "Upload-Metadata": encode_metadata(METADATA)}
    assert api.client.post(f"{Q}/uploads", headers=headers).status_code == 400  # no length
    deferred = {**headers, "Upload-Defer-Length": "1"}
    refused = api.client.post(f"{Q}/uploads", headers=deferred)
    assert "Upload-Defer-Length" in refused.json()["detail"]
    too_big = api.client.post(f"{Q}/uploads", headers={**headers, "Upload-Length": str(2**40)})
    assert too_big.status_code == 413


def test_a_file_that_is_not_json_is_refused_on_its_first_bytes_and_leaves_nothing(
    api: RunningStack,
) -> None:
    created = create(api, 10_000)
    url = created.headers["location"]
    refused = send(api, url, 0, b"%PDF-1.7\n" + b"x" * 600)
    assert refused.status_code == 415
    assert "PDF" in refused.json()["detail"]
    assert api.client.head(url, headers={**TUS, "X-API-Key": ERP}).status_code == 404
    assert leftovers(api, url.rsplit("/", 1)[1]) == ([], [])


def test_termination_leaves_no_part_nor_tail_in_storage(api: RunningStack) -> None:
    # Given an upload holding one whole part and a tail
    data = dataset(40_000)
    created = create(api, len(data))
    url = created.headers["location"]
    upload_id = url.rsplit("/", 1)[1]
    sent = send(api, url, 0, data[: 6 * MIB])
    assert sent.status_code == 204, sent.text
    pending, tails = leftovers(api, upload_id)
    assert len(pending) == 1 and len(tails) == 1
    # When it is terminated
    gone = api.client.delete(url, headers={**TUS, "X-API-Key": ERP})
    assert gone.status_code == 204
    # Then storage holds nothing of it and it is unknown
    assert leftovers(api, upload_id) == ([], [])
    assert api.client.head(url, headers={**TUS, "X-API-Key": ERP}).status_code == 404


def test_creation_with_upload_and_options_discovery(api: RunningStack) -> None:
    # OPTIONS says what the server speaks (no key needed)
    options = api.client.options(f"{Q}/uploads")
    assert options.status_code == 204
    assert options.headers["tus-version"] == "1.0.0"
    assert set(options.headers["tus-extension"].split(",")) == {
        "creation", "creation-with-upload", "termination", "expiration", "checksum",
    }  # fmt: skip
    assert set(options.headers["tus-checksum-algorithm"].split(",")) >= {"sha1", "md5", "sha256"}
    assert int(options.headers["tus-max-size"]) > 0
    # A small dataset sent with its creation is a job at once
    data = dataset(2)
    created = create_with_upload(api, data)
    assert created.status_code == 201, created.text
    assert created.headers["upload-offset"] == str(len(data))
    assert_totals(api, created.headers["upload-job-url"].rsplit("/", 1)[1], 2)


def test_an_upload_length_past_any_integer_is_a_413(api: RunningStack) -> None:
    headers = {**TUS, "X-API-Key": ERP, "Upload-Metadata": encode_metadata(METADATA)}
    for length in ("9223372036854775808", "9" * 40):
        answer = api.client.post(f"{Q}/uploads", headers={**headers, "Upload-Length": length})
        assert answer.status_code == 413, answer.text


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_creation_whose_body_passes_its_upload_length_leaves_no_upload(
    api: RunningStack, chunked: bool
) -> None:
    # Given a creation-with-upload whose body is longer than its Upload-Length (told by
    # its Content-Length, or found while it streams)
    data = dataset(400)
    names = Names(api.namespace)
    before = set(api.redis().keys(names.tus_upload("*")))
    streaming = set(api.redis().keys(names.uploading("*")))
    stored = {info.key for info in api.objects().list("tus/")}
    headers = {**creation_headers(len(data) // 2, ERP, METADATA),
               "Content-Type": "application/offset+octet-stream"}  # fmt: skip
    body = iter([data[i : i + 4096] for i in range(0, len(data), 4096)]) if chunked else data

    # When it is sent
    answer = api.client.post(f"{Q}/uploads", headers=headers, content=body)

    # Then 413, and the upload it created is gone, with every byte it stored
    assert answer.status_code == 413, answer.text
    assert set(api.redis().keys(names.tus_upload("*"))) == before
    assert {info.key for info in api.objects().list("tus/")} <= stored
    assert set(api.redis().keys(names.uploading("*"))) <= streaming


def test_an_idempotency_key_gives_the_job_already_made(api: RunningStack, tmp_path: Path) -> None:
    data = dataset(2)
    jobs = []
    for _ in range(2):
        uploader = TusClient(
            f"{api.url}{Q}/uploads", headers={"X-API-Key": ERP, "Idempotency-Key": "tus-idem-1"}
        ).uploader(file_stream=io.BytesIO(data), metadata=METADATA)
        uploader.upload()
        jobs.append(job_of(uploader))
    assert jobs[0] == jobs[1]


def test_uploads_of_one_key_finishing_at_once_become_one_job(api: RunningStack) -> None:
    data = dataset(2)  # small: the last PATCHes end together
    headers = {"X-API-Key": ERP, "Tus-Resumable": "1.0.0"}
    creation = {
        **headers, "Idempotency-Key": "tus-idem-juntas", "Upload-Length": str(len(data)),
        "Upload-Metadata": encode_metadata(METADATA),
    }  # fmt: skip
    created = [api.client.post(f"{Q}/uploads", headers=creation) for _ in range(8)]
    assert [c.status_code for c in created] == [201] * 8
    barrier = threading.Barrier(8)

    def finish(location: str) -> httpx.Response:
        with httpx.Client(base_url=api.url, timeout=120) as client:
            barrier.wait()
            return client.patch(location, content=data, headers={
                **headers, "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            })  # fmt: skip

    # When their last PATCHes land together
    done: list[httpx.Response] = []
    threads = [
        threading.Thread(target=lambda c=c: done.append(finish(c.headers["location"])))
        for c in created
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then the eight uploads became one job
    assert [r.status_code for r in done] == [204] * 8, [r.text for r in done]
    assert len({r.headers["upload-job-url"] for r in done}) == 1


def test_connections_cut_mid_patch_resume_from_the_servers_offset(api: RunningStack) -> None:
    # Given a proxy that cuts the first three connections 4 MB into what the client sends
    proxy = CuttingProxy(int(api.env["AR_API_PORT"]), after=4_000_000, cuts=3)
    count = 45_000
    data = dataset(count)
    client = TusClient(f"{proxy.url}{Q}/uploads", headers={"X-API-Key": ERP})
    uploader = client.uploader(
        file_stream=io.BytesIO(data), chunk_size=7 * MIB, metadata=METADATA,
        retries=5, retry_delay=0.5,
    )  # fmt: skip
    # When tuspy uploads in 7 MiB PATCHes: after a broken connection it asks HEAD for the
    # offset and goes on from there by itself (its retries)
    offsets: list[int] = []
    ask = uploader.get_offset

    def noted_offset() -> int:
        offset: int = ask()
        offsets.append(offset)
        return offset

    uploader.get_offset = noted_offset
    try:
        uploader.upload()
    finally:
        proxy.close()
    # Then three cuts happened; after each the server had kept the bytes that arrived
    # before it (an offset past the last whole 5 MiB part), and the totals are exact
    assert proxy.cuts_left == 0
    kept = [offset for offset in offsets if offset % (5 * MIB)]
    assert len(kept) >= 3, offsets
    assert_totals(api, job_of(uploader), count)


def test_the_janitor_clears_what_an_expired_upload_left(make_stack: StackFactory) -> None:
    # Given an upload holding a whole part and a tail, on a stack whose janitor sweeps at once
    stack = make_stack(workers=1, api_keys=KEYS, orphan_grace_seconds=0)
    data = dataset(40_000)
    url = create(stack, len(data)).headers["location"]
    upload_id = url.rsplit("/", 1)[1]
    assert send(stack, url, 0, data[: 6 * MIB]).status_code == 204
    time.sleep(2)  # swept meanwhile: a live upload keeps its part and its tail
    assert [len(found) for found in leftovers(stack, upload_id)] == [1, 1]
    # When it expires (its state and its alive mark in Redis run out)
    names = Names(stack.namespace)
    stack.redis().delete(names.tus_upload(upload_id), names.uploading(upload_id))
    # Then the janitor aborts its multipart upload and deletes its tail
    wait_until(lambda: leftovers(stack, upload_id) == ([], []), 20, what="the leftovers to go")


def test_an_expired_upload_answers_410_to_its_owner_and_404_to_others(
    make_stack: StackFactory,
) -> None:
    # Given an upload holding a part and a tail, on a stack whose uploads expire in 2 s
    stack = make_stack(workers=1, api_keys=KEYS, orphan_grace_seconds=0, tus_expiry_seconds=2)
    data = dataset(40_000)
    url = create(stack, len(data)).headers["location"]
    upload_id = url.rsplit("/", 1)[1]
    assert send(stack, url, 0, data[: 6 * MIB]).status_code == 204
    # When it expires and the janitor clears what it left
    wait_until(lambda: leftovers(stack, upload_id) == ([], []), 30, what="the leftovers to go")
    # Then its owner is told it is gone, to start again, with tus' headers and a problem
    erp = {**TUS, "X-API-Key": ERP}
    answers = [stack.client.head(url, headers=erp), send(stack, url, 6 * MIB, b"x"),
               stack.client.delete(url, headers=erp)]  # fmt: skip
    assert [a.status_code for a in answers] == [410, 410, 410]
    gone = answers[1]
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert gone.headers["tus-resumable"] == "1.0.0"
    assert "expiró" in gone.json()["detail"] and "carga nueva" in gone.json()["detail"]
    # And another key, or an id never made, still hears of no such upload
    assert stack.client.head(url, headers={**TUS, "X-API-Key": CRM}).status_code == 404
    assert stack.client.head(f"{Q}/uploads/{upload_id[:-4]}0000", headers=erp).status_code == 404


def test_a_checksummed_patch_ending_on_a_part_boundary_keeps_its_offset(
    api: RunningStack,
) -> None:
    # Given an upload, and a first PATCH of exactly one S3 part with its checksum
    count = 40_000
    data = dataset(count)
    assert len(data) > PART_SIZE
    url = create(api, len(data)).headers["location"]
    first = data[:PART_SIZE]
    sent = send(api, url, 0, first, **{"Upload-Checksum": checksum("sha256", first)})
    assert sent.status_code == 204, sent.text
    assert sent.headers["upload-offset"] == str(PART_SIZE)
    # Then HEAD says the same offset (the state was saved, not only answered)
    head = api.client.head(url, headers={**TUS, "X-API-Key": ERP})
    assert head.headers["upload-offset"] == str(PART_SIZE)
    # And the rest, sent from there, makes an exact job
    rest = data[PART_SIZE:]
    done = send(api, url, PART_SIZE, rest, **{"Upload-Checksum": checksum("sha256", rest)})
    assert done.status_code == 204, done.text
    assert_totals(api, done.headers["upload-job-url"].rsplit("/", 1)[1], count)
    assert leftovers(api, url.rsplit("/", 1)[1]) == ([], [])


def raw_headers(headers: dict[str, str]) -> dict[bytes, bytes]:
    """Headers as the bytes sent (latin-1: one byte per character, ASCII or not)."""
    return {k.encode("latin-1"): v.encode("latin-1") for k, v in headers.items()}


def test_non_ascii_checksum_or_metadata_headers_are_a_400(api: RunningStack) -> None:
    # Given an upload, and headers whose bytes are not ASCII (read as latin-1 by the server)
    url = create(api, 1000).headers["location"]
    patch_headers = raw_headers({
        **TUS, "X-API-Key": ERP, "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
        "Upload-Checksum": "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAA\xe9=",
    })  # fmt: skip
    post_headers = raw_headers({
        **TUS, "X-API-Key": ERP, "Upload-Length": "1000",
        "Upload-Metadata": "reportType \xe9\xe9\xe9\xe9",
    })  # fmt: skip
    # When they are sent on a PATCH and on a creation
    answers = [api.client.patch(url, content=b"[", headers=patch_headers),
               api.client.post(f"{Q}/uploads", headers=post_headers)]  # fmt: skip
    # Then both are 400 problem details naming the header, and the upload is untouched
    for answer, header in zip(answers, ["Upload-Checksum", "Upload-Metadata"], strict=True):
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert header in answer.json()["detail"]
    assert api.client.head(url, headers={**TUS, "X-API-Key": ERP}).headers["upload-offset"] == "0"


def test_a_finished_upload_names_its_job_past_its_expiry_and_never_answers_410(
    make_stack: StackFactory,
) -> None:
    # Given an upload that became a job, on a stack whose uploads expire in 2 s
    stack = make_stack(workers=1, api_keys=KEYS, tus_expiry_seconds=2)
    data = dataset(2)
    created = create_with_upload(stack, data)
    assert created.status_code == 201, created.text
    job_url = created.headers["upload-job-url"]
    url = created.headers["location"]
    # When its expiry has passed (a client that lost the answer comes back)
    time.sleep(4)
    # Then HEAD and a resent last PATCH still name its job, rather than 410 "start again"
    head = stack.client.head(url, headers={**TUS, "X-API-Key": ERP})
    assert head.status_code == 200, head.headers
    assert head.headers["upload-job-url"] == job_url
    assert head.headers["upload-offset"] == str(len(data))
    resent = send(stack, url, len(data), b"")
    assert resent.status_code == 204 and resent.headers["upload-job-url"] == job_url


def test_a_delete_during_a_slow_patch_leaves_no_upload_nor_bytes(api: RunningStack) -> None:
    # Given an upload, and a PATCH sending 6 MiB (a whole part stored), then pausing
    data = dataset(40_000)
    url = create(api, len(data)).headers["location"]
    upload_id = url.rsplit("/", 1)[1]
    paused = threading.Event()

    def body() -> Iterator[bytes]:
        for start in range(0, 6 * MIB, MIB):
            yield data[start : start + MIB]
        paused.set()
        time.sleep(2)
        yield data[6 * MIB : 6 * MIB + 1000]

    sending, answers = patch_in_background(api, url, body())
    assert paused.wait(60)
    until_a_request_holds(api, url)
    # When the upload is terminated while that PATCH is still running
    gone = api.client.delete(url, headers={**TUS, "X-API-Key": ERP})
    sending.join(60)
    # Then both answered, the upload is unknown and storage holds nothing of it
    assert gone.status_code == 204, gone.text
    assert [answer.status_code for answer in answers] == [204]
    assert api.client.head(url, headers={**TUS, "X-API-Key": ERP}).status_code == 404
    assert leftovers(api, upload_id) == ([], [])


def test_a_patch_while_another_sends_is_a_409_saying_the_upload_is_in_use(
    api: RunningStack,
) -> None:
    # Given a PATCH that sends 1 MiB and then pauses until the test lets it end
    data = dataset(40_000)
    url = create(api, len(data)).headers["location"]
    paused, go_on = threading.Event(), threading.Event()
    headers = {**TUS, "X-API-Key": ERP, "Content-Type": "application/offset+octet-stream"}

    def body() -> Iterator[bytes]:
        yield data[:MIB]
        paused.set()
        go_on.wait(60)

    sending, answers = patch_in_background(api, url, body())
    assert paused.wait(60)
    until_a_request_holds(api, url)
    # When a second PATCH comes meanwhile
    second = api.client.patch(url, content=data[:10], headers={**headers, "Upload-Offset": "0"})
    go_on.set()
    sending.join(60)
    # Then it is a 409 saying the upload is in use, not a wrong offset (its offset was right)
    assert second.status_code == 409, second.text
    assert second.json()["title"] == "Carga en uso", second.json()
    assert "Otra solicitud" in second.json()["detail"]
    assert [answer.status_code for answer in answers] == [204]


def test_a_head_during_a_patch_answers_the_offset_that_patch_leaves(api: RunningStack) -> None:
    # Given a PATCH that sends 1 MiB, pauses a second, then sends 1 MiB more and ends
    data = dataset(40_000)
    url = create(api, len(data)).headers["location"]
    paused = threading.Event()

    def body() -> Iterator[bytes]:
        yield data[:MIB]
        paused.set()
        time.sleep(1)
        yield data[MIB : 2 * MIB]

    sending, answers = patch_in_background(api, url, body())
    assert paused.wait(60)
    until_a_request_holds(api, url)
    # When a client asks HEAD for the offset while that PATCH still runs (as one does at
    # once after its connection broke, while the server stores what arrived)
    head = api.client.head(url, headers={**TUS, "X-API-Key": ERP})
    sending.join(60)
    # Then HEAD answered the offset that PATCH left, not the one before it
    assert [answer.status_code for answer in answers] == [204]
    assert head.status_code == 200
    assert head.headers["upload-offset"] == str(2 * MIB) == answers[0].headers["upload-offset"]
