"""Test stacks: the api, workers and janitor as real processes on free ports.

Each stack runs in a namespace of its own (queues, keys, bucket), so stacks of tests that
run side by side never meet.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from devstack.stack import forget_namespace, free_port, service_specs
from devstack.supervisor import Supervisor
from reports_shared.objectstore import ObjectStore
from reports_shared.settings import CommonSettings, load_settings
from tests.support.infra import Infra

REPO_ROOT = Path(__file__).parents[2]


def new_namespace() -> str:
    """A namespace of its own for one test stack (queues, keys, bucket)."""
    return "t" + secrets.token_hex(5)


def wait_until(
    condition: Callable[[], object], timeout: float, interval: float = 0.1, what: str = ""
) -> object:
    """Poll ``condition`` until it is truthy; its value. Fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        time.sleep(interval)


@dataclass
class RunningStack:
    """A stack under test, with handles to poke at its processes and stores."""

    supervisor: Supervisor
    env: dict[str, str]
    log_path: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=60)

    @property
    def url(self) -> str:
        """Base URL of the api."""
        return f"http://127.0.0.1:{self.env['AR_API_PORT']}"

    @property
    def namespace(self) -> str:
        """The stack's namespace of queues and keys."""
        return self.env["AR_NAMESPACE"]

    def redis(self) -> redis.Redis:
        """A client of the stack's Redis."""
        return redis.Redis.from_url(self.env["AR_REDIS_URL"])

    def status(self, job_id: str) -> dict[str, Any]:
        """GET /status of a job (asserting 200)."""
        response = self.client.get(f"/api/AsyncReports/status/{job_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_finished(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        """Poll a job until Completed or Failed; its last status."""

        def finished() -> dict[str, Any] | None:
            body = self.status(job_id)
            return body if body["status"] in {"Completed", "Failed"} else None

        result = wait_until(finished, timeout, 0.2, f"job {job_id} to finish")
        assert isinstance(result, dict)
        return result

    def wait_finished_as(self, job_id: str, api_key: str, timeout: float = 60) -> dict[str, Any]:
        """Like wait_finished, calling with an API key."""

        def finished() -> dict[str, Any] | None:
            response = self.client.get(
                f"/api/AsyncReports/status/{job_id}", headers={"X-API-Key": api_key}
            )
            body: dict[str, Any] = response.json()
            return body if body.get("status") in {"Completed", "Failed"} else None

        result = wait_until(finished, timeout, 0.2, f"job {job_id} to finish")
        assert isinstance(result, dict)
        return result

    def worker_children(self) -> list[psutil.Process]:
        """The dramatiq worker processes (children of each worker service) now alive."""
        found: list[psutil.Process] = []
        for name, service in self.supervisor.services.items():
            if name.startswith("worker") and service.process and service.process.poll() is None:
                parent = psutil.Process(service.process.pid)
                found.extend(p for p in parent.children(recursive=True) if p.is_running())
        return found

    def objects(self) -> ObjectStore:
        """A client of the stack's bucket."""
        return ObjectStore.from_settings(load_settings(CommonSettings, self.env))

    def logs(self) -> str:
        """Everything the stack's processes printed."""
        return self.log_path.read_text(errors="replace")

    def events(self, job_id: str) -> list[str]:
        """The events the stack's processes logged for one job, in order (JSON logs)."""
        found = []
        for line in self.logs().splitlines():
            _, brace, body = line.partition("{")
            try:
                entry = json.loads(brace + body) if brace else {}
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("job_id") == job_id:
                found.append(str(entry.get("event")))
        return found


StackFactory = Callable[..., RunningStack]


class StackPool:
    """Starts stacks with settings of a test's choosing; stops and cleans them all after."""

    def __init__(self, infra: Infra, folder: Path) -> None:
        self.infra = infra
        self.folder = folder
        self.started: list[RunningStack] = []

    def start(
        self,
        workers: int = 2,
        janitor: bool = True,
        extra_env: dict[str, str] | None = None,
        webhooks: bool = False,
        **settings: Any,
    ) -> RunningStack:
        """A new stack in its own namespace, ready to serve (``webhooks``: with a webhook
        worker; the tests of webhooks ask for it, the others save its process)."""
        env = self.infra.env(new_namespace())
        env.update(
            AR_API_PORT=str(free_port()),
            AR_LOG_FORMAT="json",
            AR_LEASE_TTL_SECONDS="5",
            AR_JANITOR_INTERVAL_SECONDS="1",
            # One server process, the default (AR_API_WORKERS=0 is one per CPU): what a
            # test asserts of the api's own state (its budgets, its board) holds for one.
            AR_API_WORKERS="1",
        )
        env.update({f"AR_{k.upper()}": str(v) for k, v in settings.items()})
        env.update(extra_env or {})
        env["PYTHONPATH"] = str(REPO_ROOT)  # test-only report plug-ins live in tests/
        log_path = self.folder / f"stack-{len(self.started)}-{env['AR_NAMESPACE']}.log"
        out = open(log_path, "w")  # noqa: SIM115 - closed with the stack
        supervisor = Supervisor(service_specs(env, workers, janitor, webhooks), out=out)
        supervisor.start()
        stack = RunningStack(supervisor, env, log_path)
        self.started.append(stack)
        _wait_ready(stack)
        return stack

    def stop_all(self) -> None:
        """Stop every stack and remove what it left in RabbitMQ and Redis."""
        for stack in self.started:
            stack.supervisor.stop(timeout=15)
            stack.client.close()
            forget_namespace(stack.env)
            if os.environ.get("AR_TEST_SHOW_LOGS"):
                print(stack.logs())


def _operator_headers(env: dict[str, str]) -> dict[str, str]:
    """An operator's key header when the stack runs with API keys."""
    for item in env.get("AR_API_KEYS", "").split(","):
        role, _, rest = item.partition(":")
        if role == "operator":
            return {"X-API-Key": rest.partition(":")[2]}
    return {}


def _wait_ready(stack: RunningStack) -> None:
    headers = _operator_headers(stack.env)

    def ready() -> bool:
        try:
            response = stack.client.get("/api/AsyncReports/report-types", headers=headers)
        except httpx.TransportError:
            return False
        return response.status_code == 200 and bool(response.json())

    try:
        wait_until(ready, 60, 0.2, "the api to answer and the workers to publish report types")
    except BaseException:
        print(stack.logs())
        raise


def zip_bytes(response: httpx.Response) -> io.BytesIO:
    """A downloaded ZIP, ready for zipfile."""
    assert response.headers["content-type"].startswith("application/zip"), response.headers
    return io.BytesIO(response.content)
