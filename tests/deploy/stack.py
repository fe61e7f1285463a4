"""The compose stack in podman containers, driven from outside (tests/deploy).

One stack per test session: compose.yaml + compose.podman.yaml + compose.test.yaml under a
project of its own, on its own bridge network and subnet, its api, Redis and S3 published
on 127.0.0.1 only. Faults are what podman does to a container: kill, stop, network
disconnect, restart.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from reports_shared.constants import Names
from reports_shared.jobstore import JobStore
from reports_shared.objectstore import ObjectStore
from reports_shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
Q = "/api/AsyncReports"
PROJECT = os.environ.get("AR_CT_PROJECT", "ar-ct")
PODMAN_COMPOSE = ["uvx", "--quiet", "--from", "podman-compose==1.6.0", "podman-compose"]
WORKER_TEST_IMAGE = "localhost/async-reports/worker-test:dev"
#: Settings of the test stack: short leases and janitor rounds so faults show quickly.
TEST_SETTINGS = {
    "AR_REPORT_PLUGINS": "demora:Demora",
    "AR_WORKER_IMAGE": WORKER_TEST_IMAGE,
    "AR_LEASE_TTL_SECONDS": "10",
    "AR_JANITOR_INTERVAL_SECONDS": "2",
    "AR_ORPHAN_GRACE_SECONDS": "5",
    "AR_CACHE_ENABLED": "false",
    "AR_SUBMISSIONS_PER_MINUTE": "0",
    "WORKER_CPUS": "1",
    "WORKER_MEMORY": "1g",
    "AR_CONTAINERS_SUBNET": os.environ.get("AR_CT_SUBNET", "10.231.14.0/24"),
}


def wait_until(check: Callable[[], Any], timeout: float, every: float = 0.5, what: str = "") -> Any:
    """``check()``'s first truthy value, polled; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except (httpx.HTTPError, OSError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def run(
    *command: str, check: bool = True, timeout: float = 300, env: dict[str, str] | None = None
) -> str:
    """Run a command; its stdout."""
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {done.stderr[-2000:]}")
    return done.stdout


COMPOSE_FILES = (ROOT / "compose.yaml", ROOT / "compose.podman.yaml", HERE / "compose.test.yaml")


def compose_environment(files: tuple[Path, ...] = COMPOSE_FILES) -> dict[str, str]:
    """This process's environment without the variables the compose files read.

    Compose takes a variable from the shell before the env file, so a value exported
    here (CI exports its own S3 server's AR_S3_ACCESS_KEY) would reach the containers
    while the stack's S3 server knows only the env file's: the env file must be the one
    source.
    """
    read = {name for f in files for name in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", f.read_text())}
    return {k: v for k, v in os.environ.items() if k not in read}


class Stack:
    """The running stack: compose commands, faults, and clients for its api, Redis and S3."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.env_file = state / "env"
        self.api_port = int(os.environ.get("AR_CT_API_PORT", "18623"))
        self.settings: dict[str, str] = {
            "MINIO_ROOT_USER": "root-" + secrets.token_hex(4),
            "MINIO_ROOT_PASSWORD": secrets.token_hex(16),
            "AR_S3_ACCESS_KEY": "app-" + secrets.token_hex(4),
            "AR_S3_SECRET_KEY": secrets.token_hex(16),
            "RABBITMQ_USER": "reports",
            "RABBITMQ_PASSWORD": secrets.token_hex(16),
            "AR_TOKEN_SECRET": secrets.token_hex(32),
            "AR_API_PORT": str(self.api_port),
            "RABBITMQ_MANAGEMENT_PORT": str(self.api_port + 1),
            "AR_CT_REDIS_PORT": str(self.api_port + 2),
            "AR_CT_S3_PORT": str(self.api_port + 3),
            # The suite's webhook receiver listens on the host, reached at the network's
            # gateway, a private address; the events' links are for the host's tests.
            "AR_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
            "AR_PUBLIC_URL": f"http://127.0.0.1:{self.api_port}",
            **TEST_SETTINGS,
        }
        self.url = f"http://127.0.0.1:{self.api_port}"
        #: Every 5xx answer the suite's own requests got, as "STATUS METHOD PATH".
        self.server_errors: list[str] = []
        self.client = self.http_client(base_url=self.url, timeout=30)
        self.network = f"{PROJECT}_default"
        self.environment = compose_environment()

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client whose 5xx answers are counted in ``server_errors``."""
        return httpx.Client(event_hooks={"response": [self._count_5xx]}, **kwargs)

    def _count_5xx(self, response: httpx.Response) -> None:
        if response.status_code >= 500:
            request = response.request
            self.server_errors.append(f"{response.status_code} {request.method} {request.url.path}")

    def unexpected_5xx(self) -> list[str]:
        """The 5xx answers that were not /ready saying 503 (not ready yet: its job)."""
        return [e for e in self.server_errors if e != "503 GET /ready"]

    def api_log_errors(self) -> dict[str, int]:
        """What the api containers' logs say about 5xx answers to anyone (seed clients and
        CLI included): 500s (``unhandled_error``) and 503s (``dependency_unavailable``)."""
        logs = "".join(self.logs(api) for api in self.containers("api", running=False))
        return {
            "500": logs.count('"unhandled_error"'),
            "503": logs.count('"dependency_unavailable"'),
        }

    def job_accounting(self) -> dict[str, Any]:
        """Every job the api recorded: how many, by status, those whose results in storage
        are not exactly one ZIP (lost: none for a Completed job; duplicated: more), and
        those still Queued or Processing."""
        jobs = self.jobs()
        ids = [i.decode() if isinstance(i, bytes) else str(i)
               for i in jobs.client.zrange(jobs.names.jobs_by_creation, 0, -1)]  # fmt: skip
        by_status: dict[str, int] = {}
        lost, duplicated, unfinished = [], [], []
        for job_id in ids:
            record = jobs.get(job_id)
            status = str(record.status) if record else "missing"
            by_status[status] = by_status.get(status, 0) + 1
            results = len(self.results(job_id))
            if record is None or (status == "Completed" and results == 0):
                lost.append(job_id)
            elif results > 1:
                duplicated.append(job_id)
            if status in {"Queued", "Processing"}:
                unfinished.append(job_id)
        return {
            "jobs": len(ids),
            "by_status": by_status,
            "lost": lost,
            "duplicated": duplicated,
            "unfinished": unfinished,
        }

    # --- compose ------------------------------------------------------------------------

    def write_env(self, **extra: str) -> None:
        """The .env that compose reads: the secrets, ports and test settings (+ ``extra``)."""
        values = {**self.settings, **extra}
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def compose(self, *args: str, timeout: float = 300) -> str:
        """podman-compose on the three files, in this project."""
        files = [arg for f in COMPOSE_FILES for arg in ("-f", str(f))]
        return run(
            *PODMAN_COMPOSE, "-p", PROJECT, "--env-file", str(self.env_file), *files, *args,
            timeout=timeout, env=self.environment,
        )  # fmt: skip

    def up(self, *args: str) -> None:
        """Start (or scale) the stack; return once the api is ready and Demora is known."""
        self.compose("up", "-d", "--no-build", *args)
        self.wait_ready()

    def scale_down(self, replicas: int, grace: int = 300) -> None:
        """Stop and remove workers past ``replicas`` (SIGTERM, then up to ``grace`` s).

        podman-compose 1.6 `up --scale worker=N` starts missing replicas but never removes
        extra ones, so the test does what Compose v2 would.
        """
        extra = self.containers("worker")[replicas:]
        if extra:
            run("podman", "stop", "--time", str(grace), *extra, timeout=grace + 60)
            run("podman", "rm", *extra)

    def wait_ready(self, timeout: float = 120) -> None:
        """Until /ready answers 200 and a worker has announced the Demora report type."""

        def ready() -> bool:
            if self.client.get("/ready").status_code != 200:
                return False
            names = [t["name"] for t in self.client.get(f"{Q}/report-types").json()]
            return "Demora" in names

        wait_until(ready, timeout, what="the stack to be ready")

    def down(self) -> None:
        """Stop everything and delete the volumes."""
        self.compose("down", "-v", "-t", "5", timeout=600)
        # podman-compose's down misses replicas that --scale added after the first up (and,
        # seen once, containers others depend on: --depend takes those with their dependents)
        listing = ("podman", "ps", "-aq", "--filter", f"label=io.podman.compose.project={PROJECT}")
        for _ in range(3):
            left = run(*listing).split()
            if not left:
                break
            run("podman", "rm", "--force", "--depend", "--volumes", "--time", "5", *left,
                check=False)  # fmt: skip
        assert not run(*listing).split(), f"containers left: {run(*listing)}"
        # and its down -v leaves the named volumes: an S3 volume kept from an earlier run
        # holds that run's users, and the next run's credentials are refused
        volumes = run(
            "podman", "volume", "ls", "-q", "--filter", f"label=io.podman.compose.project={PROJECT}"
        )
        if volumes.split():
            run("podman", "volume", "rm", "--force", *volumes.split())

    def containers(self, service: str, running: bool = True) -> list[str]:
        """Names of the service's containers, in replica order."""
        out = run(
            "podman", "ps", *([] if running else ["-a"]),
            "--filter", f"label=io.podman.compose.project={PROJECT}",
            "--filter", f"label=io.podman.compose.service={service}",
            "--format", "{{.Names}}",
        )  # fmt: skip
        return sorted(out.split())

    def container(self, service: str) -> str:
        """The one container of a service."""
        names = self.containers(service)
        assert len(names) == 1, names
        return names[0]

    def logs(self, container: str) -> str:
        """A container's log, stdout and stderr."""
        done = subprocess.run(
            ["podman", "logs", container], check=False, capture_output=True, text=True
        )
        return done.stdout + done.stderr

    def runner_of(self, job_id: str) -> str:
        """The worker container whose log says it started ``job_id``."""
        worker: str = wait_until(
            lambda: next(
                (w for w in self.containers("worker") if _started(self.logs(w), job_id)), None
            ),
            30,
            what=f"a worker to log the start of {job_id}",
        )
        return worker

    # --- clients ------------------------------------------------------------------------

    def _common(self) -> CommonSettings:
        return CommonSettings(
            s3_access_key=self.settings["AR_S3_ACCESS_KEY"],
            s3_secret_key=self.settings["AR_S3_SECRET_KEY"],
            s3_endpoint=f"127.0.0.1:{self.settings['AR_CT_S3_PORT']}",
            redis_url=f"redis://127.0.0.1:{self.settings['AR_CT_REDIS_PORT']}/0",
        )

    def objects(self) -> ObjectStore:
        """The stack's S3 bucket, as the services see it (the app's own user)."""
        return ObjectStore.from_settings(self._common())

    def jobs(self) -> JobStore:
        """The stack's job records in Redis."""
        return JobStore.from_url(self._common().redis_url, Names("ar"))

    def submit(self, records: list[dict[str, Any]], key: str | None = None) -> str:
        """Queue a Demora job through the api; its id."""
        body = {"reportType": "Demora", "userName": "ct", "jsonData": json.dumps(records)}
        headers = {"X-API-Key": key} if key else {}
        response = self.client.post(f"{Q}/queue-json", json=body, headers=headers)
        assert response.status_code == 202, response.text
        return str(response.json()["jobId"])

    def status(self, job_id: str, key: str | None = None) -> dict[str, Any]:
        """GET /status of a job."""
        headers = {"X-API-Key": key} if key else {}
        response = self.client.get(f"{Q}/status/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        status: dict[str, Any] = response.json()
        return status

    def wait_status(self, job_id: str, wanted: set[str], timeout: float = 120) -> dict[str, Any]:
        """The job's status once it is one of ``wanted``."""
        status: dict[str, Any] = wait_until(
            lambda: (s := self.status(job_id)) and s["status"] in wanted and s,
            timeout,
            what=f"job {job_id} to be {'/'.join(sorted(wanted))}",
        )
        return status

    def wait_finished(self, job_id: str, timeout: float = 120) -> dict[str, Any]:
        """The job's final status (Completed or Failed)."""
        return self.wait_status(job_id, {"Completed", "Failed"}, timeout)

    def processing(self) -> int:
        """Jobs Processing now, as /active-jobs says."""
        jobs = self.client.get(f"{Q}/active-jobs").json()["jobs"]
        return sum(1 for job in jobs if job["status"] == "Processing")

    def download(self, status: dict[str, Any]) -> bytes:
        """The ZIP behind a Completed status's download URL."""
        response = self.client.get(status["downloadUrl"])
        assert response.status_code == 200, response.status_code
        return response.content

    def results(self, job_id: str) -> list[str]:
        """Keys of the job's result objects in storage."""
        return [o.key for o in self.objects().list(f"results/{job_id}/")]


def _started(log: str, job_id: str) -> bool:
    return any('"job_started"' in line and job_id in line for line in log.splitlines())


def sleeps(seconds: int, each: float = 1.0) -> list[dict[str, Any]]:
    """Demora records that take ``seconds`` in all, ``each`` at a time."""
    return [{"sleep": each} for _ in range(int(seconds / each))]
