"""Faults (issue 7): storage, Redis and RabbitMQ go away and come back; the api is killed.

Each outage is of a dependency the test owns (``faults.py``): the shared RabbitMQ, Redis and
other tests' storage are never stopped. What is asserted is what a client sees: 503 with
Retry-After while a dependency is down, no job left behind by a refused submission, jobs
that complete once it is back, and nothing half-written in storage.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reports_shared.jobstore.aio import CATALOG_TTL_SECONDS
from tests.support.data import INCOMPRESSIBLE_RECORDS
from tests.support.faults import OwnRabbitMQ, OwnRedis, OwnS3
from tests.support.jobs import PLUGIN, RunningJobs, demora_stack, submit
from tests.support.stacks import RunningStack, StackFactory, wait_until, zip_bytes

Q = "/api/AsyncReports"
MB = 1_000_000


# Fixtures: each dependency is started before the stack that uses it is (so it is stopped
# after the stack, whose clean-up still needs it) and is always running again at teardown.
@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[OwnS3]:
    server = OwnS3(tmp_path / "s3")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis", appendonly=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def volatile_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "volatile-redis", appendonly=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_rabbitmq(tmp_path: Path) -> Iterator[OwnRabbitMQ]:
    node = OwnRabbitMQ(tmp_path / "rabbitmq")
    node.start()
    yield node
    node.stop()


def wait_running(running_dir: Path, job: str) -> None:
    """Until the job's Demora build is under way (its payload already read)."""
    marker = running_dir / job
    wait_until(marker.exists, 30, what=f"job {job} to start")


def post_multipart(stack: RunningStack, records: list[dict[str, Any]]) -> httpx.Response:
    return stack.client.post(
        f"{Q}/queue-multipart",
        data={"reportType": "Demora", "userName": "qa@empresa.com", "isLargeDataset": "false"},
        files={"dataFile": ("d.json", json.dumps(records).encode(), "application/json")},
    )


def post_json(stack: RunningStack, records: list[dict[str, Any]]) -> httpx.Response:
    return stack.client.post(
        f"{Q}/queue-json",
        json={"reportType": "Demora", "userName": "qa@empresa.com",
              "jsonData": json.dumps(records)},
    )  # fmt: skip


def assert_unavailable(response: httpx.Response) -> None:
    """503, a problem document, and a Retry-After the client can honour."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0
    assert "jobId" not in response.json()


def job_records(stack: RunningStack) -> set[str]:
    """Ids of every job record the stack's Redis holds."""
    prefix = f"{stack.namespace}:job:"
    return {key.decode().removeprefix(prefix) for key in stack.redis().scan_iter(f"{prefix}*")}


def active_count(stack: RunningStack) -> int:
    response = stack.client.get(f"{Q}/active-jobs")
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


def ready(stack: RunningStack) -> bool:
    try:
        return stack.client.get("/ready", timeout=15).status_code == 200
    except httpx.TransportError:
        return False


def wait_ready(stack: RunningStack) -> None:
    """Until /ready says every dependency answers (after an outage)."""
    wait_until(lambda: ready(stack), 30, 0.5, "the api to be ready again")


def result_key(stack: RunningStack, job: str) -> str:
    """The object the job's record names as its ZIP (under the folder of the run that won)."""
    raw = stack.redis().hget(f"{stack.namespace}:job:{job}", "resultKey")
    assert raw is not None
    key: str = json.loads(raw)
    assert key.startswith(f"results/{job}/") and key.endswith(f"/{_file_name(stack, job)}")
    return key


def _file_name(stack: RunningStack, job: str) -> str:
    name: str = stack.status(job)["fileName"]
    return name


def assert_one_whole_zip(stack: RunningStack, job: str, final: dict[str, Any]) -> None:
    """Exactly one object under results/{job}/, the one the job names, and a valid ZIP."""
    objects = list(stack.objects().list(f"results/{job}/"))
    assert [o.key for o in objects] == [result_key(stack, job)], objects
    download = stack.client.get(final["downloadUrl"])
    assert download.status_code == 200
    assert len(download.content) == objects[0].size == final["fileSizeBytes"]
    with zipfile.ZipFile(zip_bytes(download)) as archive:
        assert archive.testzip() is None
        assert "demora.json" in archive.namelist()


class ResultWatch:
    """Lists results/{job}/ every 0.1 s from a thread: every (key, size) ever seen there."""

    def __init__(self, stack: RunningStack, job: str) -> None:
        self.store = stack.objects()
        self.prefix = f"results/{job}/"
        self.seen: set[tuple[str, int]] = set()
        self.most_at_once = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._look()

    def _look(self) -> None:
        try:
            found = {(o.key, o.size) for o in self.store.list(self.prefix)}
        except Exception:
            return
        self.seen |= found
        self.most_at_once = max(self.most_at_once, len(found))

    def __enter__(self) -> ResultWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._look()  # and what is there at the end, should a look have been slow


def test_storage_outage_refuses_submissions_and_the_running_job_completes_after(
    own_s3: OwnS3, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a stack on storage of its own, and a job under way (held until storage is down)
    stack = demora_stack(make_stack, running_dir, own_s3.env(), workers=1)
    release = running_dir.parent / "release"
    job = submit(stack, [{"hold": str(release)}])
    with ResultWatch(stack, job) as watch:
        wait_running(running_dir, job)
        records, active = job_records(stack), active_count(stack)

        # When storage stops while the job builds (it is down when the job uploads its ZIP)
        with own_s3.stopped():
            # Then submissions are refused with 503 and Retry-After, and leave no job behind
            assert_unavailable(post_multipart(stack, [{"sleep": 0, "n": 1}]))
            assert_unavailable(post_json(stack, [{"sleep": 0, "n": 2}]))
            assert job_records(stack) == records
            assert active_count(stack) == active
            # And the job, unable to upload, waits to try again: never Completed meanwhile
            release.touch()
            wait_until(lambda: not (running_dir / job).exists(), 30, what="the build to end")
            wait_until(lambda: stack.status(job)["status"] == "Queued", 30,
                       what="the job to be back in the queue for a retry")  # fmt: skip
            assert stack.status(job)["downloadUrl"] is None

        # Then, storage back, the job completes with one whole ZIP
        final = stack.wait_finished(job, timeout=60)
        assert final["status"] == "Completed", final
        assert_one_whole_zip(stack, job, final)
    # And no other (partial) object ever appeared under its results
    assert watch.seen == {(result_key(stack, job), final["fileSizeBytes"])}
    assert watch.most_at_once == 1
    # And nothing of the refused submissions is in storage
    wait_until(lambda: not list(stack.objects().list("payloads/")), 10,
               what="the finished job's payload to be deleted")  # fmt: skip
    assert stack.wait_finished(submit(stack, [{"sleep": 0, "n": 3}]))["status"] == "Completed"


def test_storage_that_hangs_is_answered_503_within_seconds_and_ready_again_after(
    own_s3: OwnS3, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a stack on storage of its own, and a finished job's download link
    stack = demora_stack(make_stack, running_dir, own_s3.env(), workers=1)
    final = stack.wait_finished(submit(stack, [{"sleep": 0}]))
    assert final["status"] == "Completed", final

    # When storage hangs: it takes connections and never answers (the defect: 180 s each)
    with own_s3.frozen():
        # Then the readiness probe says so within seconds (its check waits 3 s, no retry)
        ready, took = timed(lambda: stack.client.get("/ready"))
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["storage"] == "StorageUnavailable"
        assert int(ready.headers["retry-after"]) > 0
        assert took < 8, f"/ready answered after {took:.1f} s"
        print(f"/ready: 503 after {took:.1f} s")
        # And a submission and a download are answered 503 + Retry-After within seconds: the
        # api waits 10 s for a read, without retry (a submission then waits 1 s at most for
        # the delete of what its upload may have left; before, another 10 s)
        for request, bound in (
            (lambda: post_multipart(stack, [{"sleep": 0, "n": 1}]), 14),
            (lambda: stack.client.get(final["downloadUrl"]), 15),
        ):
            response, took = timed(request)
            assert_unavailable(response)
            assert took < bound, f"answered after {took:.1f} s"
            print(f"503 after {took:.1f} s")

    # Then, storage going on, the api is ready again at once, and serves
    wait_until(lambda: stack.client.get("/ready").status_code == 200, 10,
               what="the api to be ready again")  # fmt: skip
    assert stack.client.get(final["downloadUrl"]).status_code == 200
    assert stack.wait_finished(submit(stack, [{"sleep": 0, "n": 2}]))["status"] == "Completed"


def timed(request: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    """A request's response and how long it took (seconds)."""
    start = time.monotonic()
    response = request()
    return response, time.monotonic() - start


def test_redis_restart_the_api_and_workers_reconnect_and_a_queued_job_completes(
    own_redis: OwnRedis, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a stack on a Redis of its own (append-only file on), running one job (held until
    # Redis is back) with a second one queued behind it (one job at a time)
    env = {"AR_REDIS_URL": own_redis.url}
    stack = demora_stack(make_stack, running_dir, env, workers=1, max_concurrent_jobs=1)
    release = running_dir.parent / "release"
    running = submit(stack, [{"hold": str(release)}])
    wait_running(running_dir, running)
    queued = submit(stack, [{"sleep": 0, "n": 1}])
    assert stack.status(queued)["status"] == "Queued"

    # When Redis is stopped and started again
    with own_redis.stopped():
        # Then the api says so, with 503 and Retry-After, never 500
        readiness = stack.client.get("/ready")
        assert readiness.status_code == 503
        assert readiness.json()["checks"]["redis"] != "ok"
        assert_unavailable(stack.client.get(f"{Q}/status/{queued}"))
        assert_unavailable(post_multipart(stack, [{"sleep": 0, "n": 2}]))
        time.sleep(1)  # the running job's heartbeat and the queued job's retries meet the outage

    # Then the api and the workers reconnect by themselves
    wait_ready(stack)
    # And the job that ran and the one that was queued before the restart both complete
    release.touch()
    for job in (running, queued):
        assert stack.wait_finished(job, timeout=60)["status"] == "Completed"
    # And a new job completes
    assert stack.wait_finished(submit(stack, [{"sleep": 0, "n": 3}]))["status"] == "Completed"


def test_the_first_request_after_a_redis_restart_is_served(
    own_redis: OwnRedis, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a stack on a Redis of its own, with a finished job
    env = {"AR_REDIS_URL": own_redis.url}
    stack = demora_stack(make_stack, running_dir, env, workers=1)
    job = submit(stack, [{"sleep": 0}])
    assert stack.wait_finished(job)["status"] == "Completed"
    # When Redis restarts while no request is in flight
    with own_redis.stopped():
        pass
    # Then the next request is answered: Redis is back
    response = stack.client.get(f"{Q}/status/{job}")
    assert response.status_code == 200, response.text


def test_a_redis_outage_shorter_than_the_lease_lets_no_job_run_over_the_cap(
    own_redis: OwnRedis, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a cap of one job at once, leases of 10 s, and a job of 16 s running
    env = {"AR_REDIS_URL": own_redis.url}
    stack = demora_stack(
        make_stack, running_dir, env, workers=2, max_concurrent_jobs=1, lease_ttl_seconds=10
    )
    with RunningJobs(running_dir) as sampler:
        first = submit(stack, [{"sleep": 16}])
        wait_running(running_dir, first)
        # When Redis is away for 6 s (less than the lease), then a second job is submitted
        with own_redis.stopped():
            time.sleep(6)
        wait_ready(stack)
        second = submit(stack, [{"sleep": 2, "n": 1}])
        for job in (first, second):
            assert stack.wait_finished(job, timeout=60)["status"] == "Completed"
    # Then the second job never ran beside the first
    assert sampler.most_at_once() == 1
    assert len(sampler.spans()) == 2


def test_a_job_queued_through_a_long_redis_outage_still_runs(
    own_redis: OwnRedis, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given one retry after a transient error, a cap of one job, a job running, one queued
    env = {"AR_REDIS_URL": own_redis.url}
    stack = demora_stack(
        make_stack, running_dir, env, workers=1, max_concurrent_jobs=1, max_retries=1,
        lease_ttl_seconds=2,
    )  # fmt: skip
    running = submit(stack, [{"sleep": 3}])
    wait_running(running_dir, running)
    queued = submit(stack, [{"sleep": 0, "n": 1}])
    # When Redis is away longer than a message's retries last (17 s covers two tries of
    # redis-py's own reconnect attempts, up to 5 s each, and Dramatiq's backoff between them)
    with own_redis.stopped():
        time.sleep(17)
    # Then, Redis back, the queued job runs too
    wait_ready(stack)
    assert stack.wait_finished(queued, timeout=15)["status"] == "Completed"
    assert stack.wait_finished(running, timeout=15)["status"] == "Completed"


def test_after_redis_loses_its_data_submissions_are_accepted_again(
    volatile_redis: OwnRedis, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a stack on a Redis without persistence (as scripts/run-stack starts one)
    env = {"AR_REDIS_URL": volatile_redis.url}
    stack = demora_stack(make_stack, running_dir, env, workers=1)
    # When Redis restarts empty, and the api's copy of the report types has aged out
    with volatile_redis.stopped():
        pass
    wait_ready(stack)
    time.sleep(CATALOG_TTL_SECONDS + 1)
    # Then, within a short while, a submission for a type the workers build is accepted
    wait_until(lambda: post_multipart(stack, [{"sleep": 0}]).status_code == 202, 10, 1.0,
               "a submission to be accepted")  # fmt: skip


def test_rabbitmq_outage_refuses_submissions_and_queued_and_running_jobs_complete_after(
    own_rabbitmq: OwnRabbitMQ, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a stack on a RabbitMQ node of its own, one job running (held until the node is
    # back: it outlasts the outage on any machine) and one queued
    env = {"AR_AMQP_URL": own_rabbitmq.url}
    stack = demora_stack(make_stack, running_dir, env, workers=2, max_concurrent_jobs=1)
    release = running_dir.parent / "release"
    running = submit(stack, [{"hold": str(release)}])
    wait_running(running_dir, running)
    queued = submit(stack, [{"sleep": 0, "n": 1}])
    payloads = {o.key for o in stack.objects().list("payloads/")}
    records, active = job_records(stack), active_count(stack)

    # When RabbitMQ stops
    with own_rabbitmq.stopped():
        # Then submissions are refused with 503 and Retry-After, and leave nothing behind
        assert_unavailable(post_multipart(stack, [{"sleep": 0, "n": 2}]))
        assert_unavailable(post_json(stack, [{"sleep": 0, "n": 3}]))
        assert job_records(stack) == records
        assert active_count(stack) == active
        assert {o.key for o in stack.objects().list("payloads/")} <= payloads
        readiness = stack.client.get("/ready")
        assert readiness.status_code == 503
        assert readiness.json()["checks"]["rabbitmq"] != "ok"

    # Then, started again, the api and the workers reconnect by themselves
    wait_ready(stack)
    # And the running and the queued jobs complete
    release.touch()
    for job in (running, queued):
        assert stack.wait_finished(job, timeout=60)["status"] == "Completed"
    # And a new job is accepted and completes
    assert stack.wait_finished(submit(stack, [{"sleep": 0, "n": 4}]))["status"] == "Completed"


BOUNDARY = "faultsboundary"
#: A multipart form of Demora records, sent in pieces: its fields, then the file's records.
FORM_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="reportType"\r\n\r\nDemora\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="userName"\r\n\r\nana\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="dataFile"; '
    f'filename="d.json"\r\nContent-Type: application/json\r\n\r\n['
).encode()
FORM_TAIL = f'{{"sleep": 0}}]\r\n--{BOUNDARY}--\r\n'.encode()


class LargeUpload:
    """A multipart dataset of ``total`` bytes, made as it is sent (chunked), from a thread."""

    def __init__(self, stack: RunningStack, total: int, at: int) -> None:
        self.stack = stack
        self.total = total
        self.at = at
        self.sent = 0
        self.reached = threading.Event()  # set once ``at`` bytes are sent
        self.outcome: list[httpx.Response | httpx.HTTPError] = []
        self._thread = threading.Thread(target=self._post, daemon=True)

    def body(self) -> Iterator[bytes]:
        yield FORM_HEAD
        chunk = INCOMPRESSIBLE_RECORDS  # about 1 MB, stored compressed to 0.8 MB
        while self.sent < self.total:
            yield chunk
            self.sent += len(chunk)
            if self.sent >= self.at:
                self.reached.set()
        yield FORM_TAIL

    def _post(self) -> None:
        try:
            response = self.stack.client.post(
                f"{Q}/queue-multipart",
                content=self.body(),
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                timeout=60,
            )
        except httpx.HTTPError as exc:
            self.outcome.append(exc)
        else:
            self.outcome.append(response)

    def start(self) -> None:
        """Start sending; return once ``at`` bytes are out and storage is receiving them."""
        self._thread.start()
        assert self.reached.wait(60), "the upload did not get going"
        wait_until(lambda: self.stack.objects().pending_uploads("payloads/"), 10,
                   what="the api to be streaming the dataset to storage")  # fmt: skip

    def result(self) -> httpx.Response | httpx.HTTPError:
        """What the client got in the end."""
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the upload is still hanging"
        return self.outcome[0]


def test_the_api_killed_during_a_large_upload_leaves_no_job_and_nothing_in_storage(
    make_stack: StackFactory,
) -> None:
    # Given a stack whose janitor removes what belongs to no job after 5 s, and a 200 MB
    # dataset streaming in (20 MB of it sent, well within those 5 s)
    stack = make_stack(workers=1, report_plugins=PLUGIN, orphan_grace_seconds=5)
    api = stack.supervisor.services["api"]
    assert api.process is not None
    records, active = job_records(stack), active_count(stack)
    upload = LargeUpload(stack, 200 * MB, at=20 * MB)
    upload.start()

    # When the api process is killed (SIGKILL)
    api.process.kill()

    # Then the client got an error, not a job
    assert isinstance(upload.result(), httpx.HTTPError), upload.outcome
    assert upload.sent < upload.total
    # And the api, restarted by its supervisor, recorded no job
    wait_until(lambda: ready(stack), 30, 0.5, "the api to be restarted by its supervisor")
    assert api.restarts == 1
    assert job_records(stack) == records
    assert active_count(stack) == active
    # And once the janitor's grace period has passed, storage holds no payload object and no
    # part of the upload cut short
    store = stack.objects()
    wait_until(lambda: not store.pending_uploads("payloads/"), 40, 0.5,
               what="the janitor to abort the upload cut short")  # fmt: skip
    assert list(store.list("payloads/")) == []


def test_an_upload_slower_than_the_orphan_grace_period_is_not_cut_short(
    make_stack: StackFactory,
) -> None:
    # Given a janitor that removes what belongs to no job after 2 s
    stack = make_stack(workers=1, report_plugins=PLUGIN, orphan_grace_seconds=2)

    # When a dataset arrives slowly: 8 MB at once (6 MB stored: storage gets its first
    # part), then a trickle for 5 s more, as over a slow link
    def slow_form() -> Iterator[bytes]:
        # Few records, made big with padding: the build takes no time on any machine
        yield FORM_HEAD
        yield INCOMPRESSIBLE_RECORDS * 8
        for _ in range(10):
            time.sleep(0.5)
            yield b'{"sleep": 0, "pad": "' + b"x" * 1_000 + b'"},'
        yield FORM_TAIL

    response = stack.client.post(
        f"{Q}/queue-multipart",
        content=slow_form(),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    # Then it is accepted and its report built
    assert response.status_code == 202, response.text
    assert stack.wait_finished(response.json()["jobId"])["status"] == "Completed"


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_no_secret_reaches_any_log_while_storage_and_redis_fail(
    own_s3: OwnS3, own_redis: OwnRedis, make_stack: StackFactory, running_dir: Path,
    log_format: str,
) -> None:  # fmt: skip
    # Given a stack with every kind of secret set, logging in the given format
    keys = {"client": secrets.token_urlsafe(18), "operator": secrets.token_urlsafe(18)}
    api_keys = f"client:ana:{keys['client']},operator:ops:{keys['operator']}"
    env = {**own_s3.env(), "AR_REDIS_URL": own_redis.url, "AR_LOG_FORMAT": log_format,
           "AR_API_KEYS": api_keys}  # fmt: skip
    stack = demora_stack(make_stack, running_dir, env, workers=1)
    stack.client.headers["X-API-Key"] = keys["client"]
    job = submit(stack, [{"sleep": 4}])
    wait_running(running_dir, job)
    # When storage fails under a running job (its upload fails, and it is retried) and
    # Redis fails too, while clients keep submitting and polling
    with own_s3.stopped():
        assert_unavailable(post_multipart(stack, [{"sleep": 0, "n": 1}]))
        wait_until(lambda: stack.status(job)["status"] == "Queued", 30,
                   what="the job's failed upload to be retried")  # fmt: skip
    with own_redis.stopped():
        assert stack.client.get(f"{Q}/status/{job}").status_code == 503
    wait_ready(stack)
    assert stack.wait_finished(job, timeout=60)["status"] == "Completed"
    # Then the failures were logged (in console text, with tracebacks), and no secret with them
    logs = stack.logs()
    assert "dependency_unavailable" in logs
    assert log_format != "console" or "Traceback" in logs
    for name, value in {
        "S3 secret key": own_s3.secret_key, "S3 access key": own_s3.access_key,
        "token secret": stack.env["AR_TOKEN_SECRET"], **keys,
    }.items():  # fmt: skip
        assert value not in logs, f"the {name} is in the {log_format} logs"


def logged(stack: RunningStack, job: str, event: str) -> int:
    """How many times the stack's processes logged ``event`` for ``job``."""
    return stack.events(job).count(event)


def test_a_storage_outage_longer_than_the_retries_backoff_spends_no_retry(
    own_s3: OwnS3, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a worker allowed one retry, and a job under way
    stack = demora_stack(make_stack, running_dir, own_s3.env(), workers=1, max_retries=1)
    job = submit(stack, [{"sleep": 1}])
    wait_running(running_dir, job)
    # When storage is away for longer than a retry's backoff (the upload fails; so would
    # the payload's download on every new try)
    with own_s3.stopped():
        wait_until(lambda: logged(stack, job, "job_waits_for_dependency") >= 3, 60,
                   what="the job to wait through several attempts")  # fmt: skip
        assert stack.status(job)["status"] in {"Queued", "Processing"}
    # Then, storage back, the job completes: waiting cost it none of its retries
    final = stack.wait_finished(job, timeout=60)
    assert final["status"] == "Completed", final


def test_a_job_that_waits_for_storage_past_its_bound_fails_saying_why(
    own_s3: OwnS3, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given jobs may wait 3 s for a dependency, and a job under way
    stack = demora_stack(make_stack, running_dir, own_s3.env(), workers=1,
                         dependency_wait_seconds=3)  # fmt: skip
    job = submit(stack, [{"sleep": 1}])
    wait_running(running_dir, job)
    # When storage stays away for longer
    with own_s3.stopped():
        final = stack.wait_finished(job, timeout=60)
    # Then the job fails, and says why
    assert final["status"] == "Failed", final
    assert "no estuvieron disponibles" in final["message"]


def test_a_build_finished_while_redis_is_away_is_recorded_when_it_is_back_not_built_again(
    own_redis: OwnRedis, make_stack: StackFactory, running_dir: Path
) -> None:
    # Given a job of three seconds under way
    stack = demora_stack(make_stack, running_dir, {"AR_REDIS_URL": own_redis.url}, workers=1)
    job = submit(stack, [{"sleep": 3}])
    wait_running(running_dir, job)
    # When Redis goes away until the build has finished (its result cannot be recorded)
    with own_redis.stopped():
        wait_until(lambda: logged(stack, job, "publish_waits_for_redis") >= 2, 30,
                   what="the finished build to try to record its result")  # fmt: skip
    # Then, Redis back, the job completes with the ZIP of that one build
    final = stack.wait_finished(job, timeout=60)
    assert final["status"] == "Completed", final
    assert logged(stack, job, "job_started") == 1
    assert_one_whole_zip(stack, job, final)
