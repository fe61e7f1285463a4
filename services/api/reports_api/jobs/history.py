"""GET /api/AsyncReports/jobs: the job history, newest first, filtered, page by page."""

from __future__ import annotations

import asyncio
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from reports_shared.constants import API_PREFIX, JobStatus

from ..access.keys import Principal
from ..openapi import problems
from ..state import Services
from .cursor import CURSOR_PATTERN, MAX_CURSOR_LENGTH, Cursors
from .history_query import HistoryFilter, Outcome, history_index, read_history
from .lookup import status_view
from .views import JobHistory

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_USER = QueryParameter(name="userName", max_length=256, description="Solo de este usuario.")
_TYPE = QueryParameter(name="reportType", max_length=256, description="Solo de este tipo.")
_STATUS = QueryParameter(
    description=(
        "Solo los que GET /status muestra con este estado (Failed: también los cancelados y "
        "expirados); Cancelled y Expired valen lo que outcome."
    ),
)
_OUTCOME = QueryParameter(description="Solo los terminados así.")
_LIMIT = QueryParameter(ge=1, le=MAX_LIMIT, description="Trabajos por página.")
_CURSOR = QueryParameter(
    max_length=MAX_CURSOR_LENGTH,
    pattern=CURSOR_PATTERN,
    description="El nextCursor de la página anterior (opaco y firmado por el api).",
)


class JobHistoryController(Controller):
    """Jobs within the retention window: a client key's own, every job for an operator."""

    path = API_PREFIX
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/jobs", responses=problems(400, 401, 503))
    async def jobs(
        self,
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        user_name: Annotated[str | None, _USER] = None,
        report_type: Annotated[str | None, _TYPE] = None,
        status: Annotated[JobStatus | None, _STATUS] = None,
        outcome: Annotated[Outcome | None, _OUTCOME] = None,
        limit: Annotated[int, _LIMIT] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, _CURSOR] = None,
    ) -> JobHistory:
        """Jobs newest first; a page may hold fewer than ``limit`` (even none) while
        ``nextCursor`` is set: each request examines a bounded share of the history."""
        cursors = Cursors(services.settings.token_secret)
        after = None if cursor is None else cursors.decode(cursor)
        wanted = HistoryFilter.of(user_name, report_type, status, outcome)
        index = history_index(services.settings.names, principal, wanted)
        page = await read_history(services.jobs, index, wanted, after, limit)
        records = [r for r in page.records if principal.may_see(r)]
        views = list(await asyncio.gather(*(status_view(services, r) for r in records)))
        following = None if page.next_position is None else cursors.encode(page.next_position)
        return JobHistory(jobs=views, count=len(views), next_cursor=following)
