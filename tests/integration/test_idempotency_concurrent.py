"""Idempotency-Key under concurrency: requests with one key sent at once make one job.

A request that finds the key taken by one still in progress waits for it (a short, bounded
wait) and then answers as a retry would: the first job for the same payload, 422 for
another; only when the first takes longer than that is the answer 409 with Retry-After.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.data import INVOICE
from tests.support.stacks import RunningStack, wait_until

Q = "/api/AsyncReports"
FIELDS = {"reportType": "FacturacionMasiva", "userName": "ana@empresa.com"}


@pytest.fixture(scope="module")
def api(module_stack: RunningStack) -> RunningStack:
    return module_stack


def dataset(records: int = 1) -> str:
    """Records no other test sends (so never served from another test's cache entry)."""
    tag = uuid.uuid4().hex
    return json.dumps([{**INVOICE, "invoiceNumber": f"{tag}-{i}"} for i in range(records)])


def at_once(
    stack: RunningStack, sends: list[Callable[[httpx.Client], httpx.Response]]
) -> list[httpx.Response]:
    """Every send on its own connection, all started together."""
    clients = [httpx.Client(base_url=stack.url, timeout=120) for _ in sends]
    try:
        with ThreadPoolExecutor(len(sends)) as pool:
            futures = [pool.submit(send, c) for send, c in zip(sends, clients, strict=True)]
            return [f.result() for f in futures]
    finally:
        for client in clients:
            client.close()


def json_send(body: dict[str, str], key: str) -> Callable[[httpx.Client], httpx.Response]:
    return lambda c: c.post(f"{Q}/queue-json", json=body, headers={"Idempotency-Key": key})


def multipart_send(data: bytes, key: str) -> Callable[[httpx.Client], httpx.Response]:
    return lambda c: c.post(
        f"{Q}/queue-multipart", data=FIELDS, files={"dataFile": ("d.json", data)},
        headers={"Idempotency-Key": key},
    )  # fmt: skip


def job_ids(responses: list[httpx.Response]) -> set[str]:
    assert all(r.status_code in {202, 409} for r in responses), [r.text for r in responses]
    return {r.json()["jobId"] for r in responses if r.status_code == 202}


def test_one_json_body_sent_at_once_under_one_key_makes_one_job(api: RunningStack) -> None:
    body = {**FIELDS, "jsonData": dataset(200)}
    key = f"pedido-{uuid.uuid4()}"
    responses = at_once(api, [json_send(body, key)] * 8)
    # Then every answer is that one job (a small body: none waits past the bounded wait)
    assert [r.status_code for r in responses] == [202] * 8, [r.text for r in responses]
    assert len(job_ids(responses)) == 1
    # And a later retry still answers it
    again = api.client.post(f"{Q}/queue-json", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 202
    assert job_ids([again]) == job_ids(responses)


def test_one_file_sent_at_once_under_one_key_makes_one_job(api: RunningStack) -> None:
    data = dataset(20_000).encode()  # some MB: each upload takes a while
    key = f"pedido-{uuid.uuid4()}"
    responses = at_once(api, [multipart_send(data, key)] * 4)
    assert len(job_ids(responses)) == 1
    for refused in (r for r in responses if r.status_code == 409):
        assert int(refused.headers["retry-after"]) > 0
        assert "Idempotency-Key" in refused.json()["detail"]


def test_other_bodies_sent_at_once_under_one_key_make_one_job_and_422s(api: RunningStack) -> None:
    key = f"pedido-{uuid.uuid4()}"
    sends = [json_send({**FIELDS, "jsonData": dataset()}, key) for _ in range(3)]
    responses = at_once(api, sends)
    codes = sorted(r.status_code for r in responses)
    # Then one of them made the job; the others were told the key went with other data
    assert codes == [202, 422, 422], [r.text for r in responses]
    made = job_ids([r for r in responses if r.status_code == 202])
    assert {r.json()["jobId"] for r in responses if r.status_code == 422} == made


def test_a_refused_submission_leaves_its_key_free(api: RunningStack) -> None:
    key = f"pedido-{uuid.uuid4()}"
    wrong = {**FIELDS, "reportType": "NoExiste", "jsonData": dataset()}
    assert json_send(wrong, key)(api.client).status_code == 400
    # When the same key comes at once with a valid submission
    right = json_send({**FIELDS, "jsonData": dataset()}, key)(api.client)
    # Then it makes its job (the failed one held the key only while it ran)
    assert right.status_code == 202, right.text


def test_a_key_held_past_the_wait_is_a_409_and_then_the_job(api: RunningStack) -> None:
    data = dataset(300).encode()
    key = f"pedido-{uuid.uuid4()}"
    boundary = "frontera-lenta"
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in FIELDS.items()
    )
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="dataFile"; '
    head += 'filename="d.json"\r\nContent-Type: application/json\r\n\r\n'

    def slowly() -> Iterator[bytes]:
        yield head.encode()
        step = len(data) // 8 + 1
        for start in range(0, len(data), step):
            yield data[start : start + step]
            time.sleep(1)  # an upload that takes about 8 s
        yield f"\r\n--{boundary}--\r\n".encode()

    def slow_upload(client: httpx.Client) -> httpx.Response:
        return client.post(
            f"{Q}/queue-multipart", content=slowly(),
            headers={"Idempotency-Key": key,
                     "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip

    def second(client: httpx.Client) -> httpx.Response:
        with api.redis() as store:

            def claims() -> list[bytes]:
                keys = store.scan_iter(f"{api.namespace}:idem:*")
                return [k for k in keys if (store.get(k) or b"").startswith(b"pending:")]

            # Once the slow one holds the key (its first bytes reaching the api take a
            # moment on a loaded machine)
            held = wait_until(claims, 30, 0.05, "the slow upload to hold its key")
            assert isinstance(held, list) and len(held) == 1, held
            assert 0 < store.ttl(held[0]) <= 30  # an api killed now holds it no longer
        return multipart_send(data, key)(client)

    first, refused = at_once(api, [slow_upload, second])
    # Then the one sent while the first kept uploading past the wait is told to come back
    assert refused.status_code == 409, refused.text
    assert refused.headers["retry-after"] == "5"
    assert "Idempotency-Key" in refused.json()["detail"]
    # And coming back after the first finished, it gets the first's job
    assert first.status_code == 202, first.text
    again = multipart_send(data, key)(api.client)
    assert job_ids([again]) == job_ids([first])


def test_a_slow_json_body_keeps_its_key_held(api: RunningStack) -> None:
    # Given a JSON submission whose body takes about 8 s to come in
    body = json.dumps({**FIELDS, "jsonData": dataset(300)}).encode()
    key = f"pedido-{uuid.uuid4()}"

    def slowly() -> Iterator[bytes]:
        step = len(body) // 8 + 1
        for start in range(0, len(body), step):
            yield body[start : start + step]
            time.sleep(1)

    def slow_upload(client: httpx.Client) -> httpx.Response:
        return client.post(
            f"{Q}/queue-json", content=slowly(),
            headers={"Idempotency-Key": key, "Content-Type": "application/json"},
        )  # fmt: skip

    def claim_ttl() -> int:
        time.sleep(7)
        with api.redis() as store:
            keys = list(store.scan_iter(f"{api.namespace}:idem:*"))
            claims = [k for k in keys if (store.get(k) or b"").startswith(b"pending:")]
            assert len(claims) == 1, keys
            return int(store.ttl(claims[0]))

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(slow_upload, api.client)
        ttl = pool.submit(claim_ttl).result()
        response = first.result()
    # Then 7 s in, its key is held for nearly the whole claim again (renewed as the body
    # comes in; before, 30 s from its start: a body slower than that let a retry in)
    assert ttl >= 25, ttl
    assert response.status_code == 202, response.text
    # And a retry after it gets its job
    again = api.client.post(
        f"{Q}/queue-json", content=body,
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )  # fmt: skip
    assert job_ids([again]) == job_ids([response])
