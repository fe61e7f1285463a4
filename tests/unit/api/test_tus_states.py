"""A tus upload's lock: one request at a time, let go only by its holder."""

from __future__ import annotations

import asyncio

import fakeredis

from reports_api.intake.tusstate import TusStates
from reports_shared.constants import Names


def test_a_request_whose_lock_expired_does_not_let_go_of_the_next_holders() -> None:
    async def scenario() -> tuple[str | None, str | None, str | None]:
        states = TusStates(fakeredis.FakeAsyncRedis(), Names("unit"), 3600)
        slow = await states.lock("u1", seconds=1)
        # The slow request's lock expires; a termination takes the upload
        await states.client.delete(f"{states.prefix}u1:lock")
        terminating = await states.lock("u1", seconds=60)
        # When the slow request lets go, late
        assert slow is not None
        await states.unlock("u1", slow)
        # Then the upload is still the termination's: nobody else may take it
        intruder = await states.lock("u1", seconds=60)
        assert terminating is not None
        await states.unlock("u1", terminating)
        return terminating, intruder, await states.lock("u1", seconds=60)

    terminating, intruder, after = asyncio.run(scenario())
    assert terminating is not None
    assert intruder is None
    assert after is not None  # its holder let it go
