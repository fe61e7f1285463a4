"""GET /api/AsyncReports/cache-stats: figures of the report cache, for operators."""

from __future__ import annotations

import asyncio

from litestar import Controller, get
from litestar.di import NamedDependency

from reports_shared.cache import CacheStats
from reports_shared.constants import API_PREFIX

from ..access.keys import Principal, require_operator
from ..openapi import problems
from ..state import Services


class CacheStatsController(Controller):
    """The temporary report cache, seen by operators."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/cache-stats", responses=problems(401, 403, 503))
    async def cache_stats(
        self, services: NamedDependency[Services], principal: NamedDependency[Principal]
    ) -> CacheStats:
        """Figures of the temporary report cache (operators only)."""
        require_operator(principal)
        return await asyncio.to_thread(services.cache.stats)
