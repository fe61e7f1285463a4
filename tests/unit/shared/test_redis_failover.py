"""After a Redis failover the services reach the new primary without a restart.

Managed Redis with failover (and Redis operators on Kubernetes) keep one address that
follows the primary. The old primary, demoted to a replica, may keep its connections
open and answer every write with READONLY: a client that kept such a connection in its
pool would fail every write until restarted. A fake Redis on loopback plays that node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis

from reports_shared.jobstore.connection import SYNC_TIMEOUTS, connect
from tests.support.redis_node import FakeNode, NodeHandler, serving

READONLY = b"-READONLY You can't write against a read only replica.\r\n"


class _Demoted(NodeHandler):
    """Answers writes with READONLY on the first connection (the demoted primary, reached
    through a connection opened before the failover) and OK on every later one."""

    def answer(self, connection: int, command: list[bytes]) -> bool:
        self.wfile.write(READONLY if connection == 1 else b"+OK\r\n")
        return True


@pytest.fixture
def node() -> Iterator[FakeNode]:
    with serving(_Demoted) as server:
        yield server


def test_a_write_answered_readonly_is_made_again_on_a_new_connection(node: FakeNode) -> None:
    # given a client whose pooled connection reaches a primary demoted by a failover
    client = connect(redis.Redis, node.url, SYNC_TIMEOUTS)
    # when it writes, then the write succeeds on a fresh connection (the new primary)
    assert client.set("ar:job:1", "x") is True
    assert node.connections == 2
    client.close()


def test_the_asyncio_client_of_the_api_does_the_same(node: FakeNode) -> None:
    async def write() -> object:
        client = connect(aioredis.Redis, node.url, SYNC_TIMEOUTS)
        try:
            return await client.set("ar:job:1", "x")
        finally:
            await client.aclose()

    assert asyncio.run(write()) is True
    assert node.connections == 2
