"""How much inline data and how many uploads the api takes in at once."""

from __future__ import annotations

import asyncio

from ..errors import Busy


class MemoryBudget:
    """Bytes that inline bodies may hold at once; past it the request gets 503."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = asyncio.Lock()

    async def reserve(self, amount: int) -> None:
        """Take ``amount`` bytes of the budget or raise Busy."""
        async with self._lock:
            if self.used + amount > self.limit:
                raise Busy(
                    "Hay demasiados datos en proceso de recepción; intente de nuevo en unos "
                    "segundos o use /queue-multipart."
                )
            self.used += amount

    async def release(self, amount: int) -> None:
        """Give bytes back."""
        async with self._lock:
            self.used -= amount
