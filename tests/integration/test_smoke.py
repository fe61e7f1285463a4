"""The whole path, end to end, with real services and real processes."""

from __future__ import annotations

import json
import zipfile

from tests.support.data import INVOICE
from tests.support.stacks import RunningStack, zip_bytes


def test_a_multipart_submission_is_built_by_a_worker_and_downloads_as_a_zip(
    module_stack: RunningStack,
) -> None:
    stack = module_stack
    # Given a small dataset sent the way the seed's clients send it
    data = json.dumps([INVOICE, {**INVOICE, "invoiceNumber": "F001-00000002"}]).encode()
    response = stack.client.post(
        "/api/AsyncReports/queue-multipart",
        data={"reportType": "FacturacionMasiva", "userName": "ana@empresa.com",
              "isLargeDataset": "false"},
        files={"dataFile": ("datos.json", data, "application/json")},
    )  # fmt: skip

    # Then it is accepted at once with a job id and where to poll
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "Queued"
    assert response.headers["location"] == accepted["statusUrl"]

    # When a worker has built it
    status = stack.wait_finished(accepted["jobId"])

    # Then the job says Completed with the seed's fields, and the ZIP downloads
    assert status["status"] == "Completed", status
    assert status["performanceMetrics"]["recordsProcessed"] == 2
    assert status["fileName"].endswith(".zip")
    download = stack.client.get(status["downloadUrl"])
    assert download.status_code == 200
    assert int(download.headers["content-length"]) == status["fileSizeBytes"]
    with zipfile.ZipFile(zip_bytes(download)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["jobId"] == accepted["jobId"]
    assert manifest["recordsProcessed"] == 2
    assert manifest["totals"]["PEN"]["total"] == "88.50"


def test_queue_json_accepts_the_seed_body_and_completes(module_stack: RunningStack) -> None:
    stack = module_stack
    # Given the seed's JSON body, jsonData being a string of JSON
    body = {"reportType": "FacturacionMasiva", "userName": "ana@empresa.com",
            "jsonData": json.dumps({"facturas": [INVOICE]}), "isLargeDataset": False}  # fmt: skip

    # When it is queued and built
    response = stack.client.post("/api/AsyncReports/queue-json", json=body)
    assert response.status_code == 202, response.text
    status = stack.wait_finished(response.json()["jobId"])

    # Then it completed with one invoice
    assert status["status"] == "Completed", status
    assert status["performanceMetrics"]["recordsProcessed"] == 1
