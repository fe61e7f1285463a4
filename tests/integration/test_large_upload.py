"""A 500 MB dataset streamed through the api without Content-Length, and gzip input."""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import psutil

from devstack.datasets import write_invoices
from tests.support.data import INVOICE
from tests.support.stacks import RunningStack, StackFactory

Q = "/api/AsyncReports"
BOUNDARY = "largeuploadboundary"
MB = 1_000_000


def chunked_form(path: Path) -> Iterator[bytes]:
    """The seed's fields then the file, as a generator: httpx sends it chunked."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="reportType"\r\n\r\n'
        f"FacturacionMasiva\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; "
        f'name="userName"\r\n\r\nana\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; '
        f'name="isLargeDataset"\r\n\r\ntrue\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; '
        f'name="dataFile"; filename="datos.json"\r\nContent-Type: application/json\r\n\r\n'
    ).encode()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_a_500_mb_upload_without_content_length_is_stored_whole(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    # Given a ~500 MB dataset and an api that accepts up to 500 MiB
    dataset = tmp_path / "datos.json"
    write_invoices(dataset, 610_000)
    size = dataset.stat().st_size
    assert 490 * MB < size < 524 * MB
    stack = make_stack(workers=1, max_concurrent_jobs=1, delete_payloads="false")
    api = stack.supervisor.services["api"].process
    assert api is not None
    # When it is sent chunked (no Content-Length)
    response = stack.client.post(
        f"{Q}/queue-multipart",
        content=chunked_form(dataset),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=300,
    )
    # Then it is accepted, stored whole (compressed: byte for byte once inflated), and the
    # api stayed small
    assert response.status_code == 202, response.text
    assert psutil.Process(api.pid).memory_info().rss < 200 * 2**20
    status = stack.status(response.json()["jobId"])
    assert status["progress"]["totalBytes"] == size
    stored, digest = 0, hashlib.sha256()
    # Inflated by the standard library, not by the worker's reader: the check stands apart
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with stack.objects().open(f"payloads/{status['jobId']}") as reader:
        while piece := reader.read(1 << 20):
            chunk = inflater.decompress(piece)
            stored += len(chunk)
            digest.update(chunk)
    assert inflater.eof
    assert stored == size
    with dataset.open("rb") as sent:
        assert digest.hexdigest() == hashlib.file_digest(sent, "sha256").hexdigest()


def test_a_gzip_dataset_is_read_like_the_plain_one(stack: RunningStack) -> None:
    data = gzip.compress(json.dumps([INVOICE, {**INVOICE, "invoiceNumber": "F-2"}]).encode())
    response = stack.client.post(
        f"{Q}/queue-multipart",
        data={"reportType": "FacturacionMasiva", "userName": "ana"},
        files={"dataFile": ("datos.json.gz", data, "application/gzip")},
    )
    assert response.status_code == 202, response.text
    final = stack.wait_finished(response.json()["jobId"])
    assert final["status"] == "Completed", final
    assert final["performanceMetrics"]["recordsProcessed"] == 2
