"""Real services in containers (testcontainers), for machines with a Docker engine.

Used by the ``infra`` fixture only when the environment names no endpoints and nothing
answers on the standard local ports. There is no Docker engine on the machines this
project is developed and tested on, so this path is written for laptops and CI runners
that have one; the local-process path is the one exercised here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any


def docker_available() -> bool:
    """Whether a Docker engine answers."""
    try:
        import docker

        return bool(docker.from_env().ping())
    except Exception:
        return False


@contextmanager
def container_services() -> Iterator[dict[str, str]]:
    """Redis, RabbitMQ and MinIO in containers; their endpoints as AR_* values."""
    from testcontainers.community.minio import MinioContainer
    from testcontainers.community.rabbitmq import RabbitMqContainer
    from testcontainers.community.redis import RedisContainer

    with ExitStack() as stack:
        redis: Any = stack.enter_context(RedisContainer("redis:7"))
        rabbit: Any = stack.enter_context(RabbitMqContainer("rabbitmq:3.13"))
        minio: Any = stack.enter_context(MinioContainer())
        config = minio.get_config()
        yield {
            "AR_REDIS_URL": f"redis://{redis.get_container_host_ip()}:"
            f"{redis.get_exposed_port(6379)}/0",
            "AR_AMQP_URL": f"amqp://guest:guest@{rabbit.get_container_host_ip()}:"
            f"{rabbit.get_exposed_port(5672)}/%2F",
            "AR_S3_ENDPOINT": str(config["endpoint"]),
            "AR_S3_ACCESS_KEY": str(config["access_key"]),
            "AR_S3_SECRET_KEY": str(config["secret_key"]),
        }
