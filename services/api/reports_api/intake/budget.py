"""How much inline data and how many uploads the api takes in at once."""

from __future__ import annotations

import asyncio

from ..errors import Busy

#: What a JSON body past the in-flight budget is told (a multipart upload streams instead).
JSON_BUSY = (
    "Hay demasiados datos en proceso de recepción; intente de nuevo en unos segundos "
    "o use /queue-multipart."
)
#: What an upload past the cap of concurrent uploads is told.
UPLOADS_BUSY = "Hay demasiadas cargas de archivos en curso; intente de nuevo en unos segundos."


class MemoryBudget:
    """Units (bytes, uploads) the api takes in at once; past the limit the request gets 503."""

    def __init__(self, limit: int, busy: str = JSON_BUSY) -> None:
        self.limit = limit
        self.busy = busy
        self.used = 0
        self._lock = asyncio.Lock()

    async def reserve(self, amount: int) -> None:
        """Take ``amount`` bytes of the budget or raise Busy."""
        async with self._lock:
            if self.used + amount > self.limit:
                raise Busy(self.busy)
            self.used += amount

    async def release(self, amount: int) -> None:
        """Give bytes back."""
        async with self._lock:
            self.used -= amount
