"""Which jobs a history request asks for, and reading them from an index in bounded work."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reports_shared.constants import ACTIVE_STATUSES, JobStatus, Names, public_status
from reports_shared.jobs import JobRecord, JobSummary
from reports_shared.jobstore import AsyncJobStore

from ..access.keys import Principal
from .cursor import Position

#: Most jobs one request examines: a filter that matches few of many jobs answers a short
#: (even empty) page with a cursor to go on, rather than walking the whole history at once.
MAX_EXAMINED = 1000
#: Jobs read from an index at a time while a filter sorts them.
CHUNK = 200


class Outcome(StrEnum):
    """How a finished job ended: the terminal values of JobStatus (``outcome_of``)."""

    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"


def stored_statuses(shown: JobStatus) -> frozenset[JobStatus]:
    """The stored statuses a ``status`` filter matches: those the view shows as it (Failed:
    failed, cancelled and expired jobs); Cancelled and Expired, which the view never shows,
    match the jobs that ended so, as ``outcome`` does."""
    if public_status(shown) != shown:
        return frozenset({shown})
    return frozenset(s for s in JobStatus if public_status(s) == shown)


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """What a job must be to be listed (None: anything)."""

    user_name: str | None = None
    report_type: str | None = None
    #: Stored statuses that match the status and outcome filters together.
    statuses: frozenset[JobStatus] | None = None

    @classmethod
    def of(
        cls,
        user_name: str | None,
        report_type: str | None,
        status: JobStatus | None,
        outcome: Outcome | None,
    ) -> HistoryFilter:
        """The filter of a request's query parameters (both status filters must hold)."""
        statuses = None if status is None else stored_statuses(status)
        if outcome is not None:
            ended = frozenset({JobStatus(outcome.value)})
            statuses = ended if statuses is None else statuses & ended
        return cls(user_name or None, report_type or None, statuses)

    def matches(self, job: JobSummary | JobRecord) -> bool:
        """Whether a job is listed."""
        return (
            (self.statuses is None or job.status in self.statuses)
            and (self.user_name is None or job.user_name == self.user_name)
            and (self.report_type is None or job.report_type == self.report_type)
        )


def history_index(names: Names, principal: Principal, wanted: HistoryFilter) -> str:
    """The smallest index that holds every job the caller may be shown: a client key's own
    history; for an operator every job, or only the active ones when only those match."""
    if not principal.is_operator:
        return names.jobs_by_owner(principal.name)
    if wanted.statuses is not None and wanted.statuses <= ACTIVE_STATUSES:
        return names.jobs_active
    return names.jobs_by_creation


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Up to a page of matching jobs, newest first, and where to go on (None: the end)."""

    records: list[JobRecord]
    next_position: Position | None


async def read_history(
    store: AsyncJobStore,
    index: str,
    wanted: HistoryFilter,
    after: Position | None,
    limit: int,
) -> HistoryPage:
    """The next page of ``index`` after ``after``, examining at most MAX_EXAMINED jobs."""
    matched: list[str] = []
    examined = 0
    last = after
    while len(matched) < limit and examined < MAX_EXAMINED:
        want = min(MAX_EXAMINED - examined, max(CHUNK, limit - len(matched)))
        before = None if last is None else (last.score, last.job_id)
        entries = await store.newest(index, before, want)
        summaries = await store.summaries([job_id for job_id, _ in entries])
        seen = 0
        for (job_id, score), summary in zip(entries, summaries, strict=True):
            seen += 1
            last = Position(score, job_id)
            if summary is not None and wanted.matches(summary):
                matched.append(job_id)
                if len(matched) == limit:
                    break
        examined += seen
        if len(entries) < want and seen == len(entries):
            last = None  # the index is read to its end
            break
    # A job may have changed between the two reads: the whole record decides.
    records = [r for r in await store.get_many(matched) if wanted.matches(r)]
    return HistoryPage(records, last)
