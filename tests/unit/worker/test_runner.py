"""One job's run, state by state: admission, start, build, publish, fail, settle, fencing.

The real runner, job store, lease limiter, Lua scripts and report types, on Redis in memory
(fakeredis) and a bucket in a dict: the stand-ins are at the edge only.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
from structlog.testing import capture_logs

from reports_shared.cache import ReportCache
from reports_shared.constants import JobStatus, Lane, Names
from reports_shared.errors import StorageUnavailable
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import JobStore
from reports_shared.messages import JobMessage
from reports_worker.limiter import LeaseLimiter
from reports_worker.reporttypes import registry
from reports_worker.runner import NoSlot, WaitForDependency, run_job
from reports_worker.services import Services
from reports_worker.settings import WorkerSettings
from tests.support.data import INVOICE
from tests.support.jobs import PLUGIN
from tests.support.standins import MemoryObjects, memory_redis

Logs = list[MutableMapping[str, Any]]


def make_services(**settings: Any) -> Services:
    """A worker's clients on the stand-ins; one build process, two slots, no cache key."""
    values: dict[str, Any] = {
        "s3_access_key": "unit",
        "s3_secret_key": "unit",
        "namespace": "u" + uuid.uuid4().hex[:8],
        "build_processes": 1,
        **settings,
    }
    config = WorkerSettings(**values)
    client = memory_redis()
    jobs = JobStore(client, config.names)
    objects = MemoryObjects()
    cache = ReportCache.from_settings(config, client, objects)
    return Services(settings=config, jobs=jobs, objects=objects, cache=cache)


@pytest.fixture
def services() -> Services:
    return make_services()


@pytest.fixture
def demora(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Demora report type registered for one test only (the registry is per process)."""
    monkeypatch.setattr(registry, "_plugins", dict(registry._plugins))
    registry.register_plugins(PLUGIN)


@pytest.fixture
def logs() -> Iterator[Logs]:
    with capture_logs() as captured:
        yield captured


def objects_of(services: Services) -> MemoryObjects:
    assert isinstance(services.objects, MemoryObjects)
    return services.objects


def queue(
    services: Services,
    records: list[Any] | bytes,
    report_type: str = "FacturacionMasiva",
    lane: Lane = Lane.SMALL,
    **fields: Any,
) -> JobMessage:
    """A job recorded as the api records it (Queued, its payload in storage); its message."""
    job_id = str(uuid.uuid4())
    payload = records if isinstance(records, bytes) else json.dumps(records).encode()
    key = Names.payload_key(job_id)
    objects_of(services).blobs[key] = payload
    record = JobRecord(
        job_id=job_id,
        status=JobStatus.QUEUED,
        message="En cola",
        report_type=report_type,
        user_name="ana@empresa.com",
        created_at=utcnow(),
        payload_key=key,
        payload_bytes=len(payload),
        lane=lane,
        **fields,
    )
    assert services.jobs.create(record)
    return JobMessage(job_id=job_id, report_type=report_type, payload_key=key, lane=lane)


def run(services: Services, message: JobMessage, last_try: bool = False) -> None:
    run_job(services, message, retries=0, last_try=last_try)


def record_of(services: Services, message: JobMessage) -> JobRecord:
    record = services.jobs.get(message.job_id)
    assert record is not None
    return record


def events(logs: Logs, job_id: str) -> list[str]:
    return [entry["event"] for entry in logs if entry.get("job_id") == job_id]


def fill_the_cap(services: Services) -> None:
    """Other runs take every slot of the cap (leases far from lapsing)."""
    names = services.settings.names
    for _ in range(services.settings.max_concurrent_jobs):
        limits = {names.limiter("jobs"): services.settings.max_concurrent_jobs}
        other = LeaseLimiter(services.jobs.client, limits, ttl_seconds=60)
        assert other.try_acquire()


def test_a_queued_job_runs_to_completed_with_its_zip_under_its_run(
    services: Services, logs: Logs
) -> None:
    # Given a queued job of two invoices
    message = queue(services, [INVOICE, {**INVOICE, "invoiceNumber": "F001-00000002"}])

    # When a worker runs its message
    run(services, message)

    # Then the job is Completed with its ZIP under the run's own folder
    record = record_of(services, message)
    assert record.status == JobStatus.COMPLETED
    assert record.records_processed == 2
    assert (record.deliveries, record.lease_expires_at) == (0, None)
    assert record.run_id is not None and record.file_name is not None
    run_folder = record.run_id.rpartition(":")[2]
    assert record.result_key == f"results/{message.job_id}/{run_folder}/{record.file_name}"
    # And the ZIP is the only object left: the payload is dropped
    assert objects_of(services).keys() == {record.result_key}
    assert events(logs, message.job_id) == ["job_started", "job_completed"]


def test_a_message_for_a_completed_job_is_skipped(services: Services, logs: Logs) -> None:
    # Given a job that completed
    message = queue(services, [INVOICE])
    run(services, message)
    done = record_of(services, message)
    objects = set(objects_of(services).keys())

    # When its message is delivered again
    run(services, message)

    # Then nothing changed: same record, same objects
    assert record_of(services, message) == done
    assert objects_of(services).keys() == objects
    assert events(logs, message.job_id).count("job_started") == 1
    assert events(logs, message.job_id)[-1] == "job_skipped"


def test_a_message_for_a_missing_job_is_skipped(services: Services, logs: Logs) -> None:
    # Given a message whose job has no record (expired, deleted)
    message = JobMessage(job_id=str(uuid.uuid4()), report_type="FacturacionMasiva",
                         payload_key="payloads/gone")  # fmt: skip

    # When it is run, then it ends without a write
    run(services, message)
    assert services.jobs.get(message.job_id) is None
    assert objects_of(services).keys() == set()
    assert events(logs, message.job_id) == ["job_skipped"]


def test_a_full_cap_raises_no_slot_and_leaves_the_record_as_it_was(services: Services) -> None:
    # Given a queued job and every slot of the cap taken by other runs
    message = queue(services, [INVOICE])
    before = record_of(services, message)
    fill_the_cap(services)

    # When its message is run, then it must wait, and the job is untouched
    with pytest.raises(NoSlot):
        run(services, message)
    assert record_of(services, message) == before
    assert objects_of(services).keys() == {message.payload_key}


def test_an_invalid_payload_ends_failed_with_its_message(services: Services) -> None:
    # Given a job whose payload is not JSON
    message = queue(services, b"esto no es json")

    # When it runs
    run(services, message)

    # Then it is Failed, saying why in the user's language, and its payload is dropped
    record = record_of(services, message)
    assert record.status == JobStatus.FAILED
    assert (
        record.error
        == record.message
        == (
            "El JSON debe ser una lista de registros ([...]), un objeto que la contenga o NDJSON "
            "(un objeto por línea), pero empieza con el carácter 'e' en el byte 0."
        )
    )
    assert objects_of(services).keys() == set()


def test_a_run_whose_job_was_taken_over_publishes_nothing_and_deletes_only_its_zip(
    services: Services, logs: Logs
) -> None:
    # Given a job that another run takes over once this one has started (it holds the job
    # now, its ZIP already in its own folder)
    message = queue(services, [INVOICE])
    winner = f"{uuid.uuid4().hex}:{uuid.uuid4().hex}"
    winner_zip = f"results/{message.job_id}/{winner.rpartition(':')[2]}/reporte.zip"
    objects = objects_of(services)

    def taken_over(key: str) -> None:
        services.jobs.client.hset(services.settings.names.job(message.job_id), "runId",
                                  json.dumps(winner))  # fmt: skip
        objects.blobs[winner_zip] = b"the winner's"

    objects.when_opened = taken_over

    # When this run goes on to the end
    run(services, message)

    # Then it published nothing: the job is still the winner's, Processing
    record = record_of(services, message)
    assert (record.status, record.run_id) == (JobStatus.PROCESSING, winner)
    assert record.result_key is None
    # And it deleted only its own ZIP: the winner's and the payload stay
    assert objects.keys() == {message.payload_key, winner_zip}
    assert "job_run_fenced" in events(logs, message.job_id)
    assert "job_completed" not in events(logs, message.job_id)


def test_a_run_whose_lease_lapsed_while_the_cap_filled_puts_the_job_back_and_waits(
    demora: None, logs: Logs
) -> None:
    # Given a Demora job of a second, on leases of one second (a heartbeat every third)
    services = make_services(lease_ttl_seconds=1)
    message = queue(services, [{"sleep": 0.25}] * 4, report_type="Demora")
    objects = objects_of(services)

    def lease_lapsed_and_cap_filled(key: str) -> None:
        # Once it runs, its lease lapses (a pause, say) and other runs take every slot
        run_id = record_of(services, message).run_id
        services.jobs.client.zrem(services.settings.names.limiter("jobs"), str(run_id))
        fill_the_cap(services)

    objects.when_opened = lease_lapsed_and_cap_filled

    # When its heartbeat cannot renew the lease, then the run stops and the job waits
    with pytest.raises(NoSlot):
        run(services, message)
    record = record_of(services, message)
    assert record.status == JobStatus.QUEUED
    assert (record.deliveries, record.run_id, record.lease_expires_at) == (0, None, None)
    # And nothing was published: the payload is kept for the next run
    assert objects.keys() == {message.payload_key}
    assert "job_run_yielded" in events(logs, message.job_id)


def test_a_job_delivered_past_max_deliveries_fails(services: Services) -> None:
    # Given a job whose runs died three times (the worker killed while building it)
    message = queue(services, [INVOICE], deliveries=3)

    # When it is delivered once more
    run(services, message)

    # Then it is Failed, saying so, and not run again
    record = record_of(services, message)
    assert record.status == JobStatus.FAILED
    assert record.error is not None and "3 veces" in record.error
    assert record.started_at is None
    assert objects_of(services).keys() == set()


def test_a_large_job_waits_while_the_large_lane_is_full(services: Services) -> None:
    # Given the large lane's slot (one of two) taken by another large job
    names = services.settings.names
    large = LeaseLimiter(services.jobs.client, {names.limiter("large-jobs"): 1}, 60)
    assert large.try_acquire()
    message = queue(services, [INVOICE], lane=Lane.LARGE, is_large_dataset=True)

    # When a large job comes, then it waits; a small one still runs
    with pytest.raises(NoSlot):
        run(services, message)
    assert record_of(services, message).status == JobStatus.QUEUED
    small = queue(services, [INVOICE])
    run(services, small)
    assert record_of(services, small).status == JobStatus.COMPLETED


@pytest.mark.parametrize("last_try", [False, True])
def test_a_storage_outage_during_the_upload_puts_the_job_back_to_wait_for_storage(
    services: Services, last_try: bool
) -> None:
    # Given a job whose ZIP cannot be uploaded (storage went away after the payload was read)
    message = queue(services, [INVOICE])
    objects = objects_of(services)

    def storage_goes_away(key: str) -> None:
        objects.failing = StorageUnavailable("storage error: connection refused")

    objects.when_opened = storage_goes_away

    # When it runs, on any try, then it waits for storage as for a slot (no retry spent)
    with pytest.raises(WaitForDependency):
        run(services, message, last_try=last_try)
    # And the job waits again as it was: Queued, this delivery not counted, payload kept
    record = record_of(services, message)
    assert (record.status, record.deliveries, record.lease_expires_at) == (
        JobStatus.QUEUED, 0, None)  # fmt: skip
    assert objects.keys() == {message.payload_key}


def test_an_unexpected_error_of_a_build_fails_the_job_at_once_saying_so(
    services: Services, logs: Logs
) -> None:
    # Given a job whose upload fails with an error that is no outage (a client's bug, say)
    job = queue(services, [INVOICE])
    objects = objects_of(services)

    def upload_breaks(key: str) -> None:
        objects.failing = ValueError("part size out of range")

    objects.when_opened = upload_breaks

    # When it runs, on its first try: then it ends Failed, saying so, with no retry
    run(services, job)
    record = record_of(services, job)
    assert record.status == JobStatus.FAILED
    assert record.error == "Error interno al generar el reporte (ValueError)."
    assert "job_crashed" in events(logs, job.job_id)
