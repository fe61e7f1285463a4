"""Where the real services come from: RabbitMQ, Redis, S3 storage.

Endpoints come from the environment (AR_REDIS_URL, AR_AMQP_URL, AR_S3_ENDPOINT with
AR_S3_ACCESS_KEY and AR_S3_SECRET_KEY), as CI sets them; where no S3 endpoint is given, a
test-owned SeaweedFS server is started. A missing service skips integration tests on a
laptop and fails them when CI is set.
"""

from __future__ import annotations

import os
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest

from devstack.infra import port_open
from devstack.s3server import S3Server, start_s3
from tests.support.containers import container_services, docker_available


def s3_port_base() -> int:
    """Ports for a test-owned S3 server: base to base+5 and their +10000 (gRPC), all free.

    Chosen at random so that test sessions running side by side do not meet.
    """
    if "AR_TEST_S3_PORT_BASE" in os.environ:
        return int(os.environ["AR_TEST_S3_PORT_BASE"])
    rng = random.Random()
    for _ in range(50):
        base = rng.randrange(20_000, 22_700, 10)  # gRPC below 32768, the ephemeral ports
        ports = [base + i for i in range(6)] + [base + 10_000 + i for i in range(6)]
        if not any(port_open("127.0.0.1", port, timeout=0.2) for port in ports):
            return base
    raise RuntimeError("no free ports for a test S3 server")


def unavailable(reason: str) -> None:
    """Skip on a developer laptop; fail in CI, where every service must be there."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure)")
    pytest.skip(reason)


@dataclass(frozen=True)
class Infra:
    """Where the real services are."""

    redis_url: str
    amqp_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str

    def env(self, namespace: str) -> dict[str, str]:
        """Environment of a service process in its own namespace."""
        return {
            "AR_REDIS_URL": self.redis_url,
            "AR_AMQP_URL": self.amqp_url,
            "AR_S3_ENDPOINT": self.s3_endpoint,
            "AR_S3_ACCESS_KEY": self.s3_access_key,
            "AR_S3_SECRET_KEY": self.s3_secret_key,
            "AR_S3_BUCKET": f"test-{namespace}",
            "AR_NAMESPACE": namespace,
            "AR_TOKEN_SECRET": secrets.token_urlsafe(32),
        }


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    return port_open(parsed.hostname or "127.0.0.1", parsed.port or default_port)


@contextmanager
def real_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    """RabbitMQ, Redis and S3 storage: named by the environment, local (an S3 server
    started when none is given), or in containers where a Docker engine runs and nothing
    else is there. Skips (fails in CI) when a service is missing."""
    redis_url = os.environ.get("AR_REDIS_URL", "redis://127.0.0.1:6379/0")
    amqp_url = os.environ.get("AR_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
    named = any(k in os.environ for k in ("AR_REDIS_URL", "AR_AMQP_URL", "AR_S3_ENDPOINT"))
    local = _reachable(redis_url, 6379) and _reachable(amqp_url, 5672)
    if not named and not local and docker_available():
        with container_services() as endpoints:
            yield Infra(
                endpoints["AR_REDIS_URL"],
                endpoints["AR_AMQP_URL"],
                endpoints["AR_S3_ENDPOINT"],
                endpoints["AR_S3_ACCESS_KEY"],
                endpoints["AR_S3_SECRET_KEY"],
            )
        return
    if not _reachable(redis_url, 6379):
        unavailable(f"Redis is not reachable at {redis_url}")
    if not _reachable(amqp_url, 5672):
        unavailable(f"RabbitMQ is not reachable at {amqp_url}")
    server: S3Server | None = None
    endpoint = os.environ.get("AR_S3_ENDPOINT")
    if endpoint:
        access, secret = os.environ["AR_S3_ACCESS_KEY"], os.environ["AR_S3_SECRET_KEY"]
    else:
        access, secret = "test-" + secrets.token_hex(4), secrets.token_urlsafe(24)
        try:
            server = start_s3(
                tmp_path_factory.mktemp("s3"), access, secret, port_base=s3_port_base()
            )
        except RuntimeError as exc:
            unavailable(f"could not start a SeaweedFS S3 server: {exc}")
        assert server is not None
        endpoint = server.endpoint
    yield Infra(redis_url, amqp_url, endpoint, access, secret)
    if server is not None:
        server.stop()
