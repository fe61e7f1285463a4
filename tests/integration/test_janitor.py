"""The janitor against real services: expiry, recovery, orphans."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta
from typing import Any

from reports_shared.constants import JobStatus, Lane
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import JobStore
from reports_shared.settings import CommonSettings, load_settings
from tests.support.data import INVOICE
from tests.support.stacks import RunningStack, StackFactory, wait_until

Q = "/api/AsyncReports"


def submit(stack: RunningStack, records: list[dict[str, object]]) -> str:
    response = stack.client.post(
        f"{Q}/queue-json",
        json={
            "reportType": "FacturacionMasiva",
            "userName": "ana",
            "jsonData": json.dumps(records),
        },
    )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["jobId"]
    return job_id


def job_store(stack: RunningStack) -> JobStore:
    settings = load_settings(CommonSettings, stack.env)
    return JobStore.from_url(settings.redis_url, settings.names)


def orphan_record(stack: RunningStack, status: JobStatus, **fields: Any) -> JobRecord:
    """A job as a crash would leave it: its payload stored, its record in some state."""
    data = json.dumps([INVOICE]).encode()
    job_id = f"orphan-{hashlib.sha256(data + str(fields).encode()).hexdigest()[:12]}"
    key = f"payloads/{job_id}"
    stack.objects().put_stream(key, io.BytesIO(data), len(data))
    record = JobRecord(
        job_id=job_id, status=status, message="", report_type="FacturacionMasiva",
        user_name="ana", created_at=utcnow() - timedelta(minutes=5), lane=Lane.SMALL,
        payload_key=key, payload_bytes=len(data), **fields,
    )  # fmt: skip
    assert job_store(stack).create(record)
    return record


def test_an_expired_job_loses_its_zip_payload_and_token_and_answers_410(
    make_stack: StackFactory,
) -> None:
    # Given a finished job whose results live two seconds
    stack = make_stack(workers=1, job_ttl_seconds=2, delete_payloads="false", cache_enabled="false")
    job = submit(stack, [INVOICE])
    status = stack.wait_finished(job)
    assert stack.client.get(status["downloadUrl"]).status_code == 200
    # When the janitor has swept after that
    wait_until(lambda: stack.client.get(f"{Q}/status/{job}").status_code == 410, 20,
               what="the job to expire")  # fmt: skip
    # Then the record says so, the download is gone, and nothing is left in storage
    assert stack.client.get(status["downloadUrl"]).status_code == 410
    assert list(stack.objects().list(f"results/{job}")) == []
    assert list(stack.objects().list(f"payloads/{job}")) == []


def test_a_processing_job_whose_worker_died_is_run_again(make_stack: StackFactory) -> None:
    # Given a job left Processing by a worker that died, its lease long lapsed, no message
    stack = make_stack(workers=1)
    record = orphan_record(stack, JobStatus.PROCESSING, deliveries=1,
                           lease_expires_at=utcnow() - timedelta(minutes=1))  # fmt: skip
    # When the janitor sweeps, then a worker builds it
    final = stack.wait_finished(record.job_id, timeout=30)
    assert final["status"] == "Completed", final


def test_a_queued_job_whose_message_was_lost_is_enqueued_again(make_stack: StackFactory) -> None:
    # Given a job recorded as Queued whose message never reached RabbitMQ (no enqueuedAt)
    stack = make_stack(workers=1)
    record = orphan_record(stack, JobStatus.QUEUED)
    # When the janitor sweeps
    final = stack.wait_finished(record.job_id, timeout=30)
    # Then it was sent again and built
    assert final["status"] == "Completed", final


def test_an_object_that_belongs_to_no_job_is_removed(make_stack: StackFactory) -> None:
    stack = make_stack(workers=1, orphan_grace_seconds=0)
    stack.objects().put_stream("payloads/nobody", io.BytesIO(b"[]"), 2)
    wait_until(lambda: not stack.objects().exists("payloads/nobody"), 20,
               what="the orphan to be removed")  # fmt: skip


def test_an_abandoned_multipart_upload_is_aborted(make_stack: StackFactory) -> None:
    # Given an upload begun by an api that died before finishing it
    stack = make_stack(workers=1, orphan_grace_seconds=0)
    objects = stack.objects()
    objects.ensure_bucket()
    objects.client._create_multipart_upload(objects.bucket, "payloads/abandoned", {})
    assert [u.key for u in objects.pending_uploads()] == ["payloads/abandoned"]
    # When the janitor sweeps, then it is gone
    wait_until(lambda: not objects.pending_uploads(), 20, what="the upload to be aborted")
