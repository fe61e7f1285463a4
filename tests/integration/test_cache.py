"""The temporary report cache: identical submissions reuse a recent ZIP."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import Any

from tests.plugins.demora import RUNNING_DIR_ENV
from tests.support.data import INVOICE
from tests.support.gate import StorageGate
from tests.support.infra import Infra
from tests.support.stacks import RunningStack, StackFactory, wait_until, zip_bytes

Q = "/api/AsyncReports"


def submit(
    stack: RunningStack, records: list[dict[str, Any]], report: str = "FacturacionMasiva"
) -> dict[str, Any]:
    response = stack.client.post(
        f"{Q}/queue-multipart",
        data={"reportType": report, "userName": "ana@empresa.com"},
        files={"dataFile": ("d.json", json.dumps(records).encode())},
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def stats(stack: RunningStack) -> dict[str, Any]:
    body: dict[str, Any] = stack.client.get(f"{Q}/cache-stats").json()
    return body


def test_the_same_dataset_again_completes_at_once_from_the_cache(make_stack: StackFactory) -> None:
    stack = make_stack(workers=1)
    first = submit(stack, [INVOICE])
    original = stack.wait_finished(first["jobId"])
    # When the same report of the same data is asked for again
    second = submit(stack, [INVOICE])
    # Then it is Completed in the answer itself, marked as from the cache
    assert second["status"] == "Completed"
    status = stack.status(second["jobId"])
    assert status["fromCache"] is True
    assert status["fileSizeBytes"] == original["fileSizeBytes"]
    with zipfile.ZipFile(zip_bytes(stack.client.get(status["downloadUrl"]))) as archive:
        assert json.loads(archive.read("manifest.json"))["recordsProcessed"] == 1
    figures = stats(stack)
    assert (figures["hits"], figures["misses"], figures["entries"]) == (1, 1, 1)
    assert figures["hitRatio"] == 0.5
    assert figures["totalBytes"] == original["fileSizeBytes"]


def test_a_hit_keeps_its_dataset_when_payloads_are_kept(make_stack: StackFactory) -> None:
    # Given payloads kept (AR_DELETE_PAYLOADS=false) and a report already built
    stack = make_stack(workers=1, delete_payloads="false")
    stack.wait_finished(submit(stack, [INVOICE])["jobId"])
    # When the same dataset comes again and is served from the cache at submission
    second = submit(stack, [INVOICE])
    assert second["status"] == "Completed"
    # Then its dataset is kept like a built job's, not deleted by the api
    assert stack.objects().stat(f"payloads/{second['jobId']}").size > 0


def test_a_hit_is_served_though_storage_fails_to_delete_its_dataset(
    make_stack: StackFactory, infra: Infra
) -> None:
    # Given a report already built, its worker done with its dataset
    with StorageGate(infra.s3_endpoint) as gate:
        stack = make_stack(workers=1, extra_env={
            "AR_S3_ENDPOINT": gate.endpoint, "AR_S3_READ_TIMEOUT_SECONDS": "2",
        })  # fmt: skip
        first = submit(stack, [INVOICE])["jobId"]
        stack.wait_finished(first)
        wait_until(lambda: not list(stack.objects().list(f"payloads/{first}")), 30,
                   what="the worker to delete its payload")  # fmt: skip
        # When the same dataset comes again and storage does not answer the delete of its
        # dataset (the report already copied for it)
        gate.hold(f"DELETE /{stack.env['AR_S3_BUCKET']}/payloads/".encode())
        second = submit(stack, [INVOICE])
        assert gate.arrived.is_set()
        gate.release()
        # Then the job is served all the same (the janitor's expiry removes the dataset)
        assert second["status"] == "Completed", second
        assert stack.status(second["jobId"])["fromCache"] is True
        assert "payload_delete_failed" in stack.events(second["jobId"])


def test_a_dataset_being_built_is_not_built_twice(make_stack: StackFactory, tmp_path: Path) -> None:
    # Given a report being built, held until the test lets it end
    running = tmp_path / "running"
    running.mkdir()
    stack = make_stack(workers=2, report_plugins="tests.plugins.demora:Demora",
                       extra_env={RUNNING_DIR_ENV: str(running)})  # fmt: skip
    records = [{"hold": str(tmp_path / "release")}]
    first = submit(stack, records, report="Demora")
    wait_until(lambda: any(running.iterdir()), 20, what="the first build to start")
    # When the same dataset is submitted while it runs
    second = submit(stack, records, report="Demora")
    assert second["status"] == "Queued"
    time.sleep(1)  # the free worker takes it at once, finds it being built and puts it back
    (tmp_path / "release").touch()
    # Then the second follows the first and comes from the cache
    assert stack.wait_finished(first["jobId"])["status"] == "Completed"
    follower = stack.wait_finished(second["jobId"])
    assert follower["status"] == "Completed" and follower["fromCache"] is True
    assert stats(stack)["misses"] == 1


def test_the_cache_evicts_the_least_recently_used_to_stay_under_its_cap(
    make_stack: StackFactory,
) -> None:
    # Given a cache that holds about one report
    stack = make_stack(workers=1, cache_max_bytes=12_000)
    sizes = []
    for number in range(3):
        job = submit(stack, [{**INVOICE, "invoiceNumber": f"F-{number}"}])["jobId"]
        sizes.append(stack.wait_finished(job)["fileSizeBytes"])
    # Then it evicted to stay under the cap, and still serves the newest
    figures = stats(stack)
    assert figures["totalBytes"] <= 12_000
    assert figures["evictions"] >= 1
    assert figures["entries"] == 3 - figures["evictions"]
    assert submit(stack, [{**INVOICE, "invoiceNumber": "F-2"}])["status"] == "Completed"


def test_a_cache_entry_whose_zip_is_gone_is_a_miss_and_the_upload_is_kept(
    make_stack: StackFactory,
) -> None:
    # Given a report in the cache whose ZIP storage no longer has (a fresh storage, same Redis)
    stack = make_stack(workers=1, janitor=False)
    stack.wait_finished(submit(stack, [INVOICE])["jobId"])
    objects = stack.objects()
    for info in list(objects.list("cache/")):
        objects.delete(info.key)
    # When the same dataset is submitted again
    second = submit(stack, [INVOICE])
    # Then it is accepted and built afresh, not lost to the stale entry
    final = stack.wait_finished(second["jobId"])
    assert final["status"] == "Completed", final
    assert final["fromCache"] is False
    with zipfile.ZipFile(zip_bytes(stack.client.get(final["downloadUrl"]))) as archive:
        assert json.loads(archive.read("manifest.json"))["jobId"] == second["jobId"]
    # And the cache holds the fresh report, whose ZIP is there
    assert stats(stack)["entries"] == 1
    assert len(list(objects.list("cache/"))) == 1


def test_the_janitor_evicts_a_cache_entry_whose_zip_is_gone(make_stack: StackFactory) -> None:
    # Given a cached report whose ZIP was removed from storage behind the service's back
    stack = make_stack(workers=1)
    stack.wait_finished(submit(stack, [INVOICE])["jobId"])
    objects = stack.objects()
    for info in list(objects.list("cache/")):
        objects.delete(info.key)
    # Then the janitor drops the entry
    wait_until(lambda: stats(stack)["entries"] == 0, 30, what="the stale entry to go")
    assert stats(stack)["totalBytes"] == 0
