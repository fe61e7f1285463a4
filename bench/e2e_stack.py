"""The real stack for the end-to-end benchmark: S3 server, api, workers and janitor.

Started the way ``tests/support/stacks.py`` starts a test stack: its own namespace
of queues, keys and bucket, the api on a free port, every service a real process under
``devstack.supervisor``. RabbitMQ and Redis are the machine's (started if installed but
down); the S3 server is ``AR_S3_ENDPOINT`` if the environment names one (CI), else a
``weed mini`` of our own in a fresh data directory.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx

from devstack.infra import ensure_rabbitmq, ensure_redis, port_open
from devstack.s3server import S3Server, start_s3
from devstack.stack import forget_namespace, free_port, service_specs
from devstack.supervisor import Supervisor
from reports_shared.objectstore import ObjectStore
from reports_shared.settings import CommonSettings, load_settings

#: Our own S3 server takes six ports from a base (and the same +10000 for gRPC): a base
#: is drawn from this range until all of them are free (tests and CI use 28333, 28433).
#: Its gRPC ports stay below 32768, where the ephemeral range begins: a port there, free
#: when drawn, may become the local end of an outgoing connection before weed binds it.
S3_PORT_RANGE = (20_000, 22_700)


@dataclass
class BenchStack:
    """A running stack and the handles the benchmark needs."""

    supervisor: Supervisor
    env: dict[str, str]
    s3: S3Server | None
    log_path: Path
    log: TextIO

    @property
    def url(self) -> str:
        """Base URL of the api."""
        return f"http://127.0.0.1:{self.env['AR_API_PORT']}"

    def service_pids(self, prefix: str) -> list[int]:
        """Pids of the supervised processes whose name starts with ``prefix``."""
        pids = []
        for name, service in self.supervisor.services.items():
            process = service.process
            if name.startswith(prefix) and process is not None and process.poll() is None:
                pids.append(process.pid)
        return pids

    def s3_pids(self) -> list[int]:
        """The pid of the stack's own S3 server (none when it uses another one)."""
        alive = self.s3 is not None and self.s3.process.poll() is None
        return [self.s3.process.pid] if self.s3 is not None and alive else []

    def cpu_groups(self) -> dict[str, Callable[[], list[int]]]:
        """Process groups whose CPU time is measured: api, workers, janitor, S3 server."""
        return {
            "api": lambda: self.service_pids("api"),
            "worker": lambda: self.service_pids("worker"),
            "janitor": lambda: self.service_pids("janitor"),
            "s3": self.s3_pids,
        }

    def objects(self) -> ObjectStore:
        """A client of the stack's bucket."""
        return ObjectStore.from_settings(load_settings(CommonSettings, self.env))

    def log_tail(self, chars: int = 6000) -> str:
        """The end of what the stack's processes printed."""
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """Stop the services, remove what they left in Redis, RabbitMQ and S3."""
        self.supervisor.stop(timeout=30)
        forget_namespace(self.env)
        if self.s3 is None:
            try:
                self.objects().delete_prefix("")
            except Exception as exc:  # best effort: the bucket is ours alone anyway
                print(f"could not empty bucket {self.env['AR_S3_BUCKET']}: {exc}")
        else:
            self.s3.stop()
        self.log.close()


def _s3_port_base() -> int:
    """A port base whose ports are all free right now."""
    for _ in range(50):
        base = random.randrange(*S3_PORT_RANGE, 10)
        ports = [base + i for i in range(6)] + [base + 10_000 + i for i in range(6)]
        if not any(port_open("127.0.0.1", port, timeout=0.2) for port in ports):
            return base
    raise RuntimeError("found no free ports for the S3 server")


def start_stack(
    workdir: Path, workers: int = 2, extra_env: dict[str, str] | None = None
) -> BenchStack:
    """A new stack in its own namespace, answering and with its report types published."""
    ensure_redis()
    ensure_rabbitmq()
    namespace = "bench" + secrets.token_hex(4)
    env = {
        "AR_REDIS_URL": os.environ.get("AR_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "AR_AMQP_URL": os.environ.get("AR_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        "AR_NAMESPACE": namespace,
        "AR_S3_BUCKET": namespace,
        "AR_API_PORT": str(free_port()),
        "AR_TOKEN_SECRET": secrets.token_urlsafe(32),
        "AR_LOG_LEVEL": "WARNING",
        "AR_LOG_FORMAT": "json",
        # Identical datasets would be served from the cache: every run must build.
        "AR_CACHE_ENABLED": "false",
        "AR_MAX_CONCURRENT_JOBS": "2",
    }
    s3: S3Server | None = None
    if os.environ.get("AR_S3_ENDPOINT"):
        env["AR_S3_ENDPOINT"] = os.environ["AR_S3_ENDPOINT"]
        env["AR_S3_ACCESS_KEY"] = os.environ["AR_S3_ACCESS_KEY"]
        env["AR_S3_SECRET_KEY"] = os.environ["AR_S3_SECRET_KEY"]
    else:
        access, secret = "bench-" + secrets.token_hex(4), secrets.token_urlsafe(24)
        s3_dir = workdir / "s3"
        s3_dir.mkdir(parents=True, exist_ok=True)
        s3 = start_s3(
            s3_dir, access, secret, port_base=_s3_port_base(), log_file=s3_dir / "weed.log"
        )
        env.update(AR_S3_ENDPOINT=s3.endpoint, AR_S3_ACCESS_KEY=access, AR_S3_SECRET_KEY=secret)
    env.update(extra_env or {})
    log_path = workdir / f"stack-{namespace}.log"
    log = log_path.open("w")
    supervisor = Supervisor(service_specs(env, workers, janitor=True), out=log)
    supervisor.start()
    stack = BenchStack(supervisor, env, s3, log_path, log)
    try:
        _wait_ready(stack)
    except BaseException:
        print(stack.log_tail())
        stack.stop()
        raise
    return stack


def _wait_ready(stack: BenchStack, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    # With API keys on, the check asks with the first one (role:name:key).
    keys = stack.env.get("AR_API_KEYS", "")
    headers = {"X-API-Key": keys.split(",")[0].split(":", 2)[2]} if keys else {}
    with httpx.Client(base_url=stack.url, timeout=5, headers=headers) as client:
        while time.monotonic() < deadline:
            try:
                response = client.get("/api/AsyncReports/report-types")
                if response.status_code == 200 and response.json():
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise RuntimeError(f"the stack did not become ready within {timeout:.0f} s")
