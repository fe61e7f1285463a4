"""After a Redis failover the services reach the new primary without a restart.

Managed Redis with failover (and Redis operators on Kubernetes) keep one address that
follows the primary. The old primary, demoted to a replica, may keep its connections
open and answer every write with READONLY: a client that kept such a connection in its
pool would fail every write until restarted. A fake Redis on loopback plays that node.
"""

from __future__ import annotations

import asyncio
import socketserver
import threading
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aioredis

from reports_shared.jobstore.connection import SYNC_TIMEOUTS, connect

READONLY = b"-READONLY You can't write against a read only replica.\r\n"


class _Node(socketserver.ThreadingTCPServer):
    """Answers writes with READONLY on its first connection (the demoted primary, reached
    through a connection opened before the failover) and OK on every later one."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.lock = threading.Lock()


class _Handler(socketserver.StreamRequestHandler):
    server: _Node

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
            demoted = self.server.connections == 1
        while command := self._command():
            name = command[0].upper()
            if name == b"HELLO":  # redis-py 8 speaks RESP3: a map with the protocol
                self.wfile.write(b"%1\r\n$5\r\nproto\r\n:3\r\n")
            elif name in (b"CLIENT", b"SELECT"):
                self.wfile.write(b"+OK\r\n")
            elif name == b"PING":
                self.wfile.write(b"+PONG\r\n")
            else:
                self.wfile.write(READONLY if demoted else b"+OK\r\n")

    def _command(self) -> list[bytes] | None:
        """One RESP array of bulk strings, as clients send commands; None at EOF."""
        header = self.rfile.readline()
        if not header.startswith(b"*"):
            return None
        parts = []
        for _ in range(int(header[1:])):
            length = int(self.rfile.readline()[1:])
            parts.append(self.rfile.read(length + 2)[:-2])
        return parts


@pytest.fixture
def node() -> Iterator[_Node]:
    server = _Node()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(node: _Node) -> str:
    port = node.server_address[1]
    return f"redis://127.0.0.1:{port}/0"


def test_a_write_answered_readonly_is_made_again_on_a_new_connection(node: _Node) -> None:
    # given a client whose pooled connection reaches a primary demoted by a failover
    client = connect(redis.Redis, _url(node), SYNC_TIMEOUTS)
    # when it writes, then the write succeeds on a fresh connection (the new primary)
    assert client.set("ar:job:1", "x") is True
    assert node.connections == 2
    client.close()


def test_the_asyncio_client_of_the_api_does_the_same(node: _Node) -> None:
    async def write() -> object:
        client = connect(aioredis.Redis, _url(node), SYNC_TIMEOUTS)
        try:
            return await client.set("ar:job:1", "x")
        finally:
            await client.aclose()

    assert asyncio.run(write()) is True
    assert node.connections == 2
