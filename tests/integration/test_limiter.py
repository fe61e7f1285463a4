"""The lease limiter against a real Redis: a cap that holds for long jobs and heals itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from reports_worker.limiter import LeaseLimiter, live_leases
from reports_worker.machine import AUTO_MAX_PROCESSES, usable_cores
from reports_worker.runner import build_processes
from reports_worker.settings import WorkerSettings
from tests.support.infra import Infra
from tests.support.stacks import new_namespace

REQUIRED: dict[str, Any] = {"s3_access_key": "k", "s3_secret_key": "s"}


@pytest.fixture
def client(infra: Infra) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(infra.redis_url)
    yield connection
    connection.close()


@pytest.fixture
def key() -> str:
    return f"{new_namespace()}:limiter:jobs"


def limiter(client: redis.Redis, limits: dict[str, int], ttl: float = 1.0) -> LeaseLimiter:
    return LeaseLimiter(client, limits, ttl)


def test_no_more_than_the_limit_are_admitted(client: redis.Redis, key: str) -> None:
    first, second, third = (limiter(client, {key: 2}) for _ in range(3))
    with (
        first.acquire(raise_on_failure=False) as a,
        second.acquire(raise_on_failure=False) as b,
        third.acquire(raise_on_failure=False) as c,
    ):
        assert (a, b, c) == (True, True, False)
    assert live_leases(client, key) == 0


def test_a_renewed_lease_outlives_its_ttl_and_keeps_the_slot(client: redis.Redis, key: str) -> None:
    # Given a job holding the only slot for three times its lease TTL, renewing as it runs
    # (renewed every quarter of its TTL: a test process stalled a while on a busy machine
    # must not let a lease lapse between two renewals)
    holder = limiter(client, {key: 1}, ttl=1.0)
    with holder.acquire(raise_on_failure=False) as held:
        assert held
        for _ in range(12):
            time.sleep(0.25)
            assert holder.renew()
        # Then nobody else got in meanwhile
        with limiter(client, {key: 1}).acquire(raise_on_failure=False) as other:
            assert not other


def test_a_lease_that_is_not_renewed_lapses_and_frees_the_slot(
    client: redis.Redis, key: str
) -> None:
    # Given a holder that dies (never renews, never releases)
    dead = limiter(client, {key: 1}, ttl=0.5)
    assert dead._acquire()
    assert not limiter(client, {key: 1})._acquire()
    # When its TTL passes
    time.sleep(0.6)
    # Then the slot is free again
    assert live_leases(client, key) == 0
    assert limiter(client, {key: 1})._acquire()


def test_a_job_needs_room_in_every_lane_it_belongs_to(client: redis.Redis, key: str) -> None:
    lane = key + ":large"
    big_one = limiter(client, {key: 2, lane: 1})
    big_two = limiter(client, {key: 2, lane: 1})
    small = limiter(client, {key: 2})
    assert big_one._acquire()
    assert not big_two._acquire()  # the large lane is full
    assert small._acquire()  # the global cap still has room for a small job
    assert live_leases(client, key) == 2
    for holder in (big_one, small):
        holder._release()


def test_a_lone_build_takes_every_core_and_a_full_pool_one_each(
    client: redis.Redis, key: str
) -> None:
    cores = min(usable_cores(), AUTO_MAX_PROCESSES)
    auto = WorkerSettings(**REQUIRED, build_processes=0)
    first, second = limiter(client, {key: 2}), limiter(client, {key: 2})
    assert first.try_acquire()
    try:
        # a job alone on this machine: every core (up to the cap)
        assert build_processes(auto, first) == cores
        # a job of another machine does not count
        elsewhere = limiter(client, {key: 3})
        elsewhere.lease_id = "another-host:" + elsewhere.lease_id.split(":", 1)[1]
        assert elsewhere.try_acquire()
        assert build_processes(auto, first) == cores
        elsewhere.release()
        # two jobs here: half each (at least one)
        assert second.try_acquire()
        assert build_processes(auto, first) == max(1, min(usable_cores() // 2, AUTO_MAX_PROCESSES))
        # a fixed setting wins
        assert build_processes(WorkerSettings(**REQUIRED, build_processes=1), first) == 1
        assert build_processes(WorkerSettings(**REQUIRED, build_processes=3), first) == 3
    finally:
        first.release()
        second.release()
