"""Per-client submission limits, counted in Redis so that every api replica shares them."""

from __future__ import annotations

import time

from reports_shared.jobstore import AsyncJobStore

from ..errors import TooManyRequests
from .keys import key_digest


class SubmissionLimiter:
    """At most N submissions per client per minute, counted in Redis (shared by replicas)."""

    def __init__(self, jobs: AsyncJobStore, per_minute: int) -> None:
        self.jobs = jobs
        self.per_minute = per_minute

    async def check(self, client: str) -> None:
        """Count one submission; 429 with Retry-After past the limit."""
        if self.per_minute <= 0:
            return
        window = int(time.time() // 60)
        key = f"{self.jobs.names.namespace}:rate:{key_digest(client).hex()[:32]}:{window}"
        count = await self.jobs.count_in_window(key, 60)
        if count > self.per_minute:
            retry = 60 - int(time.time() % 60)
            raise TooManyRequests(
                f"Se superó el límite de {self.per_minute} envíos por minuto; "
                f"intente de nuevo en {retry} s.",
                retryAfter=retry,
            )
