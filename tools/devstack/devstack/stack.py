"""The whole stack as local processes: S3 server, api, workers and janitor."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pika
import redis

from .s3server import S3Server, start_s3
from .supervisor import Service, Supervisor


@dataclass
class Stack:
    """A running stack: its S3 server, its supervised services and its settings."""

    s3: S3Server | None
    supervisor: Supervisor
    env: dict[str, str]

    @property
    def api_url(self) -> str:
        """Base URL of the api."""
        return f"http://{self.env['AR_API_HOST']}:{self.env['AR_API_PORT']}"

    def stop(self) -> None:
        """Stop the services, then the S3 server."""
        self.supervisor.stop()
        if self.s3 is not None:
            self.s3.stop()


def service_specs(
    env: dict[str, str], workers: int, janitor: bool = True, webhooks: bool = True
) -> list[Service]:
    """The api, ``workers`` worker pools (one process each), the webhook worker and the
    janitor."""
    python = sys.executable
    specs = [Service("api", [python, "-m", "reports_api"], dict(env))]
    for index in range(1, workers + 1):
        specs.append(Service(f"worker-{index}", [python, "-m", "reports_worker"], dict(env)))
    if webhooks:
        specs.append(Service("webhooks", [python, "-m", "reports_worker", "webhooks"], dict(env)))
    if janitor:
        specs.append(Service("janitor", [python, "-m", "reports_janitor"], dict(env)))
    return specs


def start_s3_for(env: dict[str, str], workdir: Path, port_base: int | None) -> S3Server:
    """Start the S3 server with the credentials in ``env``; point ``env`` at it."""
    s3 = start_s3(
        workdir,
        env["AR_S3_ACCESS_KEY"],
        env["AR_S3_SECRET_KEY"],
        port_base=port_base,
        log_file=workdir / "weed.log",
    )
    env["AR_S3_ENDPOINT"] = s3.endpoint
    return s3


#: Ports handed out for services to listen on: below Linux's ephemeral range (32768-60999 by
#: default) and the test S3 servers' (20000-29005, gRPC +10000). A port from the ephemeral
#: range, free when chosen, could meanwhile become the local end of some process's outgoing
#: connection (to Redis, RabbitMQ...), and the service would fail to bind it for as long as
#: that connection lives (seen in CI: an api restarting on "address already in use" for 60 s).
FREE_PORTS = range(10_000, 20_000)


#: Where the ports handed out lately are noted, for every process of this machine: a port
#: is free from when it is chosen until its service binds it, and two test processes could
#: choose the same one in that window: one stack's client would then talk to the other's api
#: (the likeliest cause of a CI failure, a frozen storage reported ready).
#: One file per user (another's would not be writable).
CLAIMS = Path(tempfile.gettempdir()) / f"devstack-ports-{os.getuid()}.json"
#: How long a port handed out stays claimed: its service has bound it by then, or failed.
CLAIM_SECONDS = 120.0


def free_port() -> int:
    """A TCP port nobody uses right now, outside the ephemeral range (:data:`FREE_PORTS`),
    and not handed out lately by this function, in any process (:data:`CLAIMS`)."""
    with _claims() as claims:
        for port in random.sample(FREE_PORTS, min(200, len(FREE_PORTS))):
            if str(port) in claims or not bindable(port):
                continue
            claims[str(port)] = time.time()
            return port
    raise RuntimeError(f"no free port in {FREE_PORTS.start}-{FREE_PORTS.stop - 1}")


def bindable(port: int) -> bool:
    """Whether a TCP port of 127.0.0.1 can be bound now (nobody listens on it, nor holds it
    as the local end of a connection)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def _claims() -> Iterator[dict[str, float]]:
    """The ports claimed lately, under a lock across processes; written back after."""
    with open(CLAIMS.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            claims = json.loads(CLAIMS.read_text())
        except (OSError, ValueError):
            claims = {}
        now = time.time()
        claims = {port: at for port, at in claims.items() if now - at < CLAIM_SECONDS}
        yield claims
        CLAIMS.write_text(json.dumps(claims))


def forget_namespace(env: dict[str, str]) -> None:
    """Delete a stack namespace's Redis keys and RabbitMQ queues (tests, benchmarks)."""
    namespace = env["AR_NAMESPACE"]
    client = redis.Redis.from_url(env["AR_REDIS_URL"])
    keys = list(client.scan_iter(f"{namespace}:*", count=1000))
    if keys:
        client.delete(*keys)
    connection = pika.BlockingConnection(pika.URLParameters(env["AR_AMQP_URL"]))
    channel = connection.channel()
    for queue in (
        f"{namespace}.reports.small",
        f"{namespace}.reports.large",
        f"{namespace}.webhooks",
    ):
        for suffix in ("", ".DQ", ".XQ"):
            channel.queue_delete(f"{queue}{suffix}")
    connection.close()
