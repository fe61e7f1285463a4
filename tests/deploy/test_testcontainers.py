"""tests/support/containers.py (the testcontainers path) for real, against podman's Docker API.

podman serves the Docker-compatible API on a socket of this test's own; the locally built
Redis, RabbitMQ and S3 images are tagged under the names tests/support/containers.py asks for, so
nothing is pulled. Ryuk (testcontainers' reaper, an image of its own) is off: the
``with`` block removes the containers. One stand-in at the edge: MinioContainer waits for
MinIO's ``/minio/health/live``, which SeaweedFS does not serve (403), so here it waits for
SeaweedFS's ``/healthz`` instead; everything else in tests/support/containers.py runs as written.
"""

from __future__ import annotations

import io
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
import redis
import testcontainers.community.minio as tc_minio
from testcontainers.core.config import ConnectionMode, testcontainers_config
from testcontainers.core.wait_strategies import HttpWaitStrategy

from reports_shared.objectstore import ObjectStore
from reports_shared.settings import CommonSettings
from tests.deploy.stack import run, wait_until
from tests.support.containers import container_services, docker_available

#: Local image -> the name tests/support/containers.py asks for.
TAGS = {
    "localhost/async-reports/redis:7.0-bookworm": "docker.io/library/redis:7",
    "localhost/async-reports/rabbitmq:3.10-bookworm": "docker.io/library/rabbitmq:3.13",
    "localhost/async-reports/s3:seaweedfs-4.48": (
        "docker.io/minio/minio:RELEASE.2022-12-02T19-19-22Z"
    ),
}


def _seaweedfs_health(port: int, path: str | None = "/") -> HttpWaitStrategy:
    """MinioContainer's wait, on the S3 stand-in's health endpoint."""
    assert path == "/minio/health/live", path  # what MinioContainer asks; fail if it changes
    return HttpWaitStrategy(port, "/healthz")


@pytest.fixture
def docker_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """podman's Docker-compatible API on a socket in ``tmp_path``, as DOCKER_HOST."""
    for local, wanted in TAGS.items():
        run("podman", "tag", local, wanted)
    socket = f"unix://{tmp_path / 'podman.sock'}"
    service = subprocess.Popen(["podman", "system", "service", "--time=0", socket])
    monkeypatch.setenv("DOCKER_HOST", socket)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    monkeypatch.setattr(tc_minio, "HttpWaitStrategy", _seaweedfs_health)
    # This machine is itself a container (/.dockerenv), so testcontainers would take podman
    # for Docker-in-Docker and look for a gateway in fields podman's API leaves out; podman
    # publishes the ports on this machine's loopback, as a Docker host would
    # (TESTCONTAINERS_CONNECTION_MODE=docker_host, read once at import, hence the attribute).
    monkeypatch.setattr(
        testcontainers_config, "connection_mode_override", ConnectionMode.docker_host
    )
    try:
        wait_until(docker_available, 30, what="podman's Docker API")
        yield socket
    finally:
        service.terminate()
        service.wait(30)
        for wanted in TAGS.values():
            # `podman untag IMAGE` alone drops every name of the image, the local one too
            run("podman", "untag", wanted, wanted, check=False)


def test_the_testcontainers_services_answer(docker_socket: str) -> None:
    started = time.monotonic()
    with container_services() as env:
        print(f"testcontainers up in {time.monotonic() - started:.1f} s: {env['AR_S3_ENDPOINT']}")
        assert redis.Redis.from_url(env["AR_REDIS_URL"]).ping()
        pika.BlockingConnection(pika.URLParameters(env["AR_AMQP_URL"])).close()
        settings = CommonSettings(
            s3_access_key=env["AR_S3_ACCESS_KEY"],
            s3_secret_key=env["AR_S3_SECRET_KEY"],
            s3_endpoint=env["AR_S3_ENDPOINT"],
            s3_bucket="tc-check",
        )
        store = ObjectStore.from_settings(settings)
        store.ensure_bucket()
        store.put_stream("k", io.BytesIO(b"hello"), 5)
        assert [o.key for o in store.list("")] == ["k"]
    assert os.environ["DOCKER_HOST"] == docker_socket
