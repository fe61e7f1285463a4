"""A job's hash, the api's hottest read, on connections of the job store's own: retried on a
fresh connection as the client retries, and never answered with another read's reply.

A fake Redis on loopback answers HGETALL with the key it was asked for, so that an answer
read for the wrong request shows.
"""

from __future__ import annotations

import asyncio
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis

from reports_shared.constants import Names
from reports_shared.errors import JobStoreUnavailable
from reports_shared.jobstore import AsyncJobStore
from reports_shared.jobstore.connection import ASYNC_TIMEOUTS, connect

NAMES = Names("unit")


class _Node(socketserver.ThreadingTCPServer):
    """Answers ``HGETALL key`` with ``{b"key": key}``; may hang up on the first connection's
    first read (a connection kept from before a Redis restart), and answers keys ending
    in ``slow`` late."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, hang_up_first: bool = False, always_hang_up: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hang_up_first = hang_up_first
        self.always_hang_up = always_hang_up
        self.connections = 0
        self.lock = threading.Lock()


class _Handler(socketserver.StreamRequestHandler):
    server: _Node

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
            first = self.server.connections == 1
        while command := self._command():
            name = command[0].upper()
            if name == b"HELLO":  # redis-py 8 speaks RESP3: a map with the protocol
                self.wfile.write(b"%1\r\n$5\r\nproto\r\n:3\r\n")
            elif name in (b"CLIENT", b"SELECT"):
                self.wfile.write(b"+OK\r\n")
            elif name == b"PING":
                self.wfile.write(b"+PONG\r\n")
            elif name == b"HGETALL":
                if self.server.always_hang_up or (first and self.server.hang_up_first):
                    return
                key = command[1]
                if key.endswith(b"slow"):
                    time.sleep(0.3)
                self.wfile.write(b"%%1\r\n$3\r\nkey\r\n$%d\r\n%s\r\n" % (len(key), key))

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


def _serve(server: _Node) -> Iterator[_Node]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def node() -> Iterator[_Node]:
    yield from _serve(_Node())


@pytest.fixture
def restarted() -> Iterator[_Node]:
    yield from _serve(_Node(hang_up_first=True))


@pytest.fixture
def gone() -> Iterator[_Node]:
    yield from _serve(_Node(always_hang_up=True))


def _store(node: _Node) -> AsyncJobStore:
    url = f"redis://127.0.0.1:{node.server_address[1]}/0"
    return AsyncJobStore(connect(aioredis.Redis, url, ASYNC_TIMEOUTS), NAMES)


def test_a_read_on_a_connection_from_before_a_restart_is_made_again_on_a_new_one(
    restarted: _Node,
) -> None:
    async def read() -> dict[bytes, bytes]:
        store = _store(restarted)
        try:
            return await store.get_stored("j1")
        finally:
            await store.close()

    # When the first connection's read is cut, then the read is answered on a second one
    assert asyncio.run(read()) == {b"key": NAMES.job("j1").encode()}
    assert restarted.connections == 2


def test_a_redis_that_never_answers_is_unavailable_after_the_client_s_retries(gone: _Node) -> None:
    async def read() -> None:
        store = _store(gone)
        try:
            await store.get_stored("j1")
        finally:
            await store.close()

    with pytest.raises(JobStoreUnavailable):
        asyncio.run(read())
    assert gone.connections == 4  # the first try and the client's 3 retries


def test_a_read_given_up_midway_leaves_no_answer_for_the_next_read(node: _Node) -> None:
    async def reads() -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
        store = _store(node)
        try:
            # Given a read whose caller gives up before Redis answers (a client went away)
            slow = asyncio.ensure_future(store.get_stored("j-slow"))
            await asyncio.sleep(0.1)
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            # When the next reads go out, on the connection it had
            return await store.get_stored("j2"), await store.get_stored("j3")
        finally:
            await store.close()

    # Then each is answered with its own job's hash, never the slow one's late answer
    second, third = asyncio.run(reads())
    assert second == {b"key": NAMES.job("j2").encode()}
    assert third == {b"key": NAMES.job("j3").encode()}


def test_concurrent_reads_each_get_their_own_answer(node: _Node) -> None:
    async def reads() -> list[dict[bytes, bytes]]:
        store = _store(node)
        try:
            return await asyncio.gather(*(store.get_stored(f"j{i}") for i in range(20)))
        finally:
            await store.close()

    answers = asyncio.run(reads())
    assert answers == [{b"key": NAMES.job(f"j{i}").encode()} for i in range(20)]
