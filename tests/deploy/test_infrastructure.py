"""Redis and RabbitMQ containers restarted, the api container killed mid-upload, API keys
turned on through the env file alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx

from tests.deploy.stack import Q, Stack, run, sleeps, wait_until
from tests.support.data import INCOMPRESSIBLE_RECORDS

BOUNDARY = "ar-ct-boundary"
HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="reportType"\r\n\r\nDemora\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="userName"\r\n\r\nct\r\n'
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="dataFile"; filename="d.json"\r\n'
    "Content-Type: application/json\r\n\r\n["
).encode()
TAIL = f'{{"sleep": 0}}]\r\n--{BOUNDARY}--\r\n'.encode()
MB = 1024 * 1024


def test_redis_restarted_keeps_records_links_and_queued_jobs(stack: Stack) -> None:
    # Given a completed job with its download link, and jobs queued behind a running one
    # (a worker container takes one message at a time)
    stack.scale_down(1)
    done = stack.wait_finished(stack.submit(sleeps(1)))
    running = [stack.submit(sleeps(8))]
    queued = [stack.submit(sleeps(1)) for _ in range(2)]
    wait_until(lambda: stack.processing() == 1, 60, what="a job to run")
    # When Redis is restarted (append-only file on, as compose runs it)
    run("podman", "restart", "--time", "10", stack.container("redis"))
    # Then the completed job and its link are still there, and every other job completes
    after = stack.status(done["jobId"])
    assert after["status"] == "Completed"
    assert stack.download(after) == stack.download(done)
    for job in [*running, *queued]:
        assert stack.wait_finished(job, timeout=120)["status"] == "Completed"


def test_rabbitmq_restarted_keeps_queued_jobs(stack: Stack) -> None:
    # Given jobs queued while no worker runs
    stack.compose("stop", "worker")
    jobs = [stack.submit(sleeps(1)) for _ in range(3)]
    # When RabbitMQ is restarted, then the workers come back
    run("podman", "restart", "--time", "20", stack.container("rabbitmq"))
    wait_until(lambda: stack.client.get("/ready").status_code == 200, 90, what="the api ready")
    stack.up("--scale", "worker=1")
    # Then every queued job completes
    for job in jobs:
        assert stack.wait_finished(job, timeout=120)["status"] == "Completed"


class Upload:
    """A multipart dataset, made as it is sent, from a thread."""

    def __init__(self, stack: Stack, total: int, at: int) -> None:
        self.stack, self.total, self.at, self.sent = stack, total, at, 0
        self.reached = threading.Event()
        self.outcome: list[object] = []
        self._thread = threading.Thread(target=self._post, daemon=True)

    def _body(self) -> Iterator[bytes]:
        yield HEAD
        chunk = INCOMPRESSIBLE_RECORDS  # stored compressed: storage must get parts all the same
        while self.sent < self.total:
            yield chunk
            self.sent += len(chunk)
            if self.sent >= self.at:
                self.reached.set()
        yield TAIL

    def _post(self) -> None:
        try:
            with self.stack.http_client(timeout=60) as client:
                response = client.post(
                    f"{self.stack.url}{Q}/queue-multipart",
                    content=self._body(),
                    headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                )
            self.outcome.append(response)
        except httpx.HTTPError as exc:
            self.outcome.append(exc)

    def start(self) -> None:
        self._thread.start()
        assert self.reached.wait(60), "the upload did not get going"

    def result(self) -> object:
        self._thread.join(90)
        return self.outcome[0]


def test_the_api_killed_mid_upload_records_no_job_and_the_janitor_cleans_up(stack: Stack) -> None:
    # Given a 200 MB dataset streaming into the api container, 20 MB of it sent
    store, jobs = stack.objects(), stack.jobs()
    before = jobs.client.zcard(jobs.names.jobs_by_creation)
    upload = Upload(stack, 200 * MB, at=20 * MB)
    upload.start()
    wait_until(lambda: store.pending_uploads("payloads/"), 20, what="the upload to reach S3")
    # When the api container is killed (SIGKILL)
    api = stack.container("api")
    run("podman", "kill", "--signal", "KILL", api)
    # Then the client got an error, not a job
    assert isinstance(upload.result(), httpx.HTTPError), upload.outcome
    # And once the api is started again (podman applies no restart policy to a container
    # that `podman kill` stopped: it counts as stopped on purpose), no job is recorded and
    # none is active
    run("podman", "start", api)
    wait_until(lambda: stack.client.get("/ready").status_code == 200, 90, what="the api back")
    assert jobs.client.zcard(jobs.names.jobs_by_creation) == before
    assert stack.client.get(f"{Q}/active-jobs").json()["count"] == 0
    # And the janitor aborts the upload cut short: nothing is left in storage
    wait_until(lambda: not store.pending_uploads("payloads/"), 60, what="the janitor to clean")
    assert list(store.list("payloads/")) == []


ERP, CRM = "erp-key-0123456789abcdef", "crm-key-0123456789abcdef"


def test_api_keys_turned_on_in_the_env_file_keep_clients_apart(stack: Stack) -> None:
    # Given AR_API_KEYS set in the env file alone, and the api re-created from compose.yaml
    stack.write_env(AR_API_KEYS=f"client:erp:{ERP},client:crm:{CRM}")
    try:
        stack.compose("up", "-d", "--no-build", "--force-recreate", "--no-deps", "api")
        wait_until(lambda: stack.client.get("/ready").status_code == 200, 90, what="the api")
        # Then without a key nothing is accepted, and each client sees only its own jobs
        assert stack.client.get(f"{Q}/active-jobs").status_code == 401
        job = stack.submit(sleeps(1), key=ERP)
        assert stack.status(job, key=ERP)["status"] in {"Queued", "Processing", "Completed"}
        other = stack.client.get(f"{Q}/status/{job}", headers={"X-API-Key": CRM})
        assert other.status_code == 404
        done = wait_until(
            lambda: (s := stack.status(job, key=ERP))["status"] == "Completed" and s,
            60,
            what="the ERP's job",
        )
        link = done["downloadUrl"]
        assert stack.client.get(link, headers={"X-API-Key": CRM}).status_code == 404
        assert stack.client.get(link, headers={"X-API-Key": ERP}).status_code == 200
        crm_view = stack.client.get(f"{Q}/active-jobs", headers={"X-API-Key": CRM}).json()
        assert crm_view["count"] == 0
    finally:
        stack.write_env()
        stack.compose("up", "-d", "--no-build", "--force-recreate", "--no-deps", "api")
        stack.wait_ready()
