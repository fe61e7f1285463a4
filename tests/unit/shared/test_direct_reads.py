"""A job's hash, the api's hottest read, on connections of the job store's own: retried on a
fresh connection as the client retries, and never answered with another read's reply.

A fake Redis on loopback answers HGETALL with the key it was asked for, so that an answer
read for the wrong request shows.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio as aioredis

from reports_shared.constants import Names
from reports_shared.errors import JobStoreUnavailable
from reports_shared.jobstore import AsyncJobStore
from reports_shared.jobstore.aio import DIRECT_KEPT
from reports_shared.jobstore.connection import ASYNC_TIMEOUTS, connect
from tests.support.redis_node import FakeNode, NodeHandler, serving

NAMES = Names("unit")


class _Answers(NodeHandler):
    """HGETALL of a key ending in ``slow`` is answered late."""

    def answer(self, connection: int, command: list[bytes]) -> bool:
        key = command[1]
        if key.endswith(b"slow"):
            time.sleep(0.3)
        self.wfile.write(b"%%1\r\n$3\r\nkey\r\n$%d\r\n%s\r\n" % (len(key), key))
        return True


class _Restarted(_Answers):
    """Hangs up on the first connection's first command (a connection kept from before a
    Redis restart)."""

    def answer(self, connection: int, command: list[bytes]) -> bool:
        return connection > 1 and super().answer(connection, command)


class _Gone(NodeHandler):
    """Hangs up on every command."""

    def answer(self, connection: int, command: list[bytes]) -> bool:
        return False


def _store(node: FakeNode) -> AsyncJobStore:
    return AsyncJobStore(connect(aioredis.Redis, node.url, ASYNC_TIMEOUTS), NAMES)


def test_a_read_on_a_connection_from_before_a_restart_is_made_again_on_a_new_one() -> None:
    async def read(node: FakeNode) -> dict[bytes, bytes]:
        store = _store(node)
        try:
            return await store.get_stored("j1")
        finally:
            await store.close()

    # When the first connection's read is cut, then the read is answered on a second one
    with serving(_Restarted) as node:
        assert asyncio.run(read(node)) == {b"key": NAMES.job("j1").encode()}
        assert node.connections == 2


def test_a_redis_that_never_answers_is_unavailable_after_the_retries() -> None:
    async def read(node: FakeNode) -> None:
        store = _store(node)
        try:
            await store.get_stored("j1")
        finally:
            await store.close()

    with serving(_Gone) as node, pytest.raises(JobStoreUnavailable):
        asyncio.run(read(node))
    assert node.connections == 4  # the first try and the client's 3 retries


def test_a_read_given_up_midway_leaves_no_answer_for_the_next_read() -> None:
    async def reads(node: FakeNode) -> tuple[dict[bytes, bytes], dict[bytes, bytes]]:
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
    with serving(_Answers) as node:
        second, third = asyncio.run(reads(node))
    assert second == {b"key": NAMES.job("j2").encode()}
    assert third == {b"key": NAMES.job("j3").encode()}


def test_concurrent_reads_each_get_their_own_answer() -> None:
    async def reads(node: FakeNode) -> list[dict[bytes, bytes]]:
        store = _store(node)
        try:
            return await asyncio.gather(*(store.get_stored(f"j{i}") for i in range(20)))
        finally:
            await store.close()

    with serving(_Answers) as node:
        answers = asyncio.run(reads(node))
    assert answers == [{b"key": NAMES.job(f"j{i}").encode()} for i in range(20)]


def test_a_read_that_ends_after_close_keeps_no_connection() -> None:
    async def read_across_close(node: FakeNode) -> tuple[dict[bytes, bytes], int]:
        store = _store(node)
        # Given a read under way (Redis answers it late) when the store is closed
        slow = asyncio.ensure_future(store.get_stored("j-slow"))
        await asyncio.sleep(0.1)
        await store.close()
        # When the read ends afterwards
        answer = await slow
        return answer, len(store._direct)

    # Then it got its answer, and its connection was closed rather than kept
    with serving(_Answers) as node:
        answer, kept = asyncio.run(read_across_close(node))
    assert answer == {b"key": NAMES.job("j-slow").encode()}
    assert kept == 0


def test_a_burst_of_reads_leaves_at_most_the_kept_connections_open() -> None:
    burst = DIRECT_KEPT + 36

    async def reads(node: FakeNode) -> int:
        store = _store(node)
        try:
            # Given a burst of concurrent reads, each on a connection of its own
            await asyncio.gather(*(store.get_stored(f"j{i}-slow") for i in range(burst)))
            # When they have all ended
            deadline = time.monotonic() + 5
            while node.open > DIRECT_KEPT and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            return node.open
        finally:
            await store.close()

    # Then only the kept ones stay open
    with serving(_Answers) as node:
        still_open = asyncio.run(reads(node))
    assert node.connections == burst
    assert still_open == DIRECT_KEPT
