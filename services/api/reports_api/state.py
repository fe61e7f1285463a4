"""The clients the handlers share, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from reports_shared.cache import ReportCache
from reports_shared.jobstore import AsyncJobStore, JobStore
from reports_shared.objectstore import ObjectStore
from reports_shared.tokens import DownloadTokens

from .access.keys import ApiKeys
from .access.limits import SubmissionLimiter
from .intake.budget import UPLOADS_BUSY, MemoryBudget
from .intake.publisher import Publisher
from .intake.submissions import Submitter
from .intake.tusstate import TusStates
from .jobs.estimates import Estimates
from .jobs.rendered import StatusViews
from .settings import ApiSettings


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a handler may need; injected as ``services``."""

    settings: ApiSettings
    jobs: AsyncJobStore
    objects: ObjectStore
    publisher: Publisher
    submitter: Submitter
    json_budget: MemoryBudget
    upload_slots: MemoryBudget
    #: Synchronous clients for the rare multi-step operations (cache hits), run in threads.
    sync_jobs: JobStore
    cache: ReportCache
    tokens: DownloadTokens
    keys: ApiKeys
    submissions: SubmissionLimiter
    #: When active jobs should end or start (read from Redis at most once a second).
    estimates: Estimates
    #: The status views last made, by job (checked against the job's hash each time).
    status_views: StatusViews
    #: Where tus uploads stand (their states and locks in Redis).
    tus_states: TusStates

    @classmethod
    def create(cls, settings: ApiSettings) -> Services:
        """Clients for ``settings`` (no connection is opened yet)."""
        jobs = AsyncJobStore.from_url(settings.redis_url, settings.names)
        processes = settings.server_processes
        objects = ObjectStore.from_settings(settings)
        publisher = Publisher(settings.amqp_url, settings.names)
        sync_jobs = JobStore.from_url(settings.redis_url, settings.names)
        cache = ReportCache.from_settings(settings, sync_jobs.client, objects)
        return cls(
            settings=settings,
            jobs=jobs,
            objects=objects,
            publisher=publisher,
            submitter=Submitter(settings, jobs, objects, publisher, sync_jobs, cache),
            # Each server process holds its share, so that the api as a whole keeps to them.
            json_budget=MemoryBudget(settings.json_budget_per_process),
            upload_slots=MemoryBudget(
                -(-settings.max_concurrent_uploads // processes), UPLOADS_BUSY
            ),
            sync_jobs=sync_jobs,
            cache=cache,
            tokens=DownloadTokens(settings.token_secret),
            keys=ApiKeys(settings.api_keys),
            submissions=SubmissionLimiter(jobs, settings.submissions_per_minute),
            estimates=Estimates(jobs),
            status_views=StatusViews(),
            tus_states=TusStates(jobs.client, settings.names, settings.tus_expiry_seconds),
        )


def services_of(request: Request[Any, Any, Any]) -> Services:
    """The app's services, for a handler that takes them from the app's state rather than
    as a dependency (each dependency costs every request of its route)."""
    services: Services = request.app.state.services
    return services
