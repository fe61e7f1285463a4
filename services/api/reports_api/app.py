"""The app factory: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from litestar import Litestar, Request
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.middleware import DefineMiddleware
from litestar.plugins.prometheus import PrometheusController

from reports_shared.errors import ReportsError
from reports_shared.settings import redact_url

from .access.keys import Principal
from .apidocs import document, openapi_config, swagger_assets
from .errors import EXCEPTION_HANDLERS
from .health import HealthController
from .intake.generate import SyncReportsController
from .intake.queue import IntakeController
from .intake.report_types import ReportTypesController
from .intake.tus import TusController
from .jobs.active import ActiveJobsController
from .jobs.cache_stats import CacheStatsController
from .jobs.cancel import JobCancelController
from .jobs.download import DownloadController
from .jobs.events import JobEventsController
from .jobs.history import JobHistoryController
from .jobs.status import JobStatusController
from .jobs.webhooks import WebhookController
from .metrics import RequestMetrics
from .settings import ApiSettings
from .state import Services
from .web.page import home, ui_router

log = structlog.get_logger(__name__)


class MetricsController(PrometheusController):
    """GET /metrics in Prometheus' text format (kept out of the OpenAPI document)."""

    include_in_schema = False


#: Request headers a page of an allowed origin may send: the api's own and tus' (no
#: Upload-Defer-Length: a tus upload states its length at creation).
CORS_REQUEST_HEADERS = [
    "Authorization", "Content-Type", "X-API-Key", "Idempotency-Key", "Range", "If-Range",
    "Last-Event-ID", "Tus-Resumable", "Upload-Offset", "Upload-Length", "Upload-Metadata",
    "Upload-Checksum",
]  # fmt: skip
#: Response headers such a page may read (a browser hides all but a few otherwise).
CORS_EXPOSED_HEADERS = [
    "Location", "Retry-After", "Content-Disposition", "Content-Range", "Accept-Ranges", "ETag",
    "Upload-Offset", "Upload-Length", "Upload-Expires", "Upload-Job-Url", "Tus-Resumable",
    "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm",
]  # fmt: skip


def _cors(origins: list[str]) -> CORSConfig | None:
    """CORS for the configured origins (None: closed), tus' headers allowed and readable."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_headers=CORS_REQUEST_HEADERS,
        expose_headers=CORS_EXPOSED_HEADERS,
    )


def identify(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> Principal:
    """The caller of a request (``principal``). It takes ``services`` so that Litestar
    resolves the two one after the other: two independent dependencies cost every request
    a task group and two tasks (a tenth of a status's time, measured)."""
    return services.keys.identify(request)


def create_app(settings: ApiSettings) -> Litestar:
    """The api, wired to the services in ``settings``."""
    services = Services.create(settings)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            await asyncio.to_thread(services.objects.ensure_bucket)
        except ReportsError as exc:
            # Start anyway: /ready says what is missing, submissions get 503 until it is back.
            log.warning("bucket_check_failed", error=str(exc))
        if not services.keys.enabled:
            log.warning("api_open_access", detail="AR_API_KEYS is empty: anyone may use the api")
        log.info(
            "api_ready",
            redis=redact_url(settings.redis_url),
            amqp=redact_url(settings.amqp_url),
            s3=settings.s3_endpoint,
            namespace=settings.namespace,
        )
        # What start-up made (the app, its routes, the OpenAPI document: some 90,000
        # objects) lives as long as the process: out of the collector's sight, a full
        # collection no longer walks it (86 ms each on a busy 2-core machine, measured).
        # Start-up's garbage is collected first, not kept for good.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            services.publisher.close()
            await services.jobs.close()

    app = Litestar(
        route_handlers=[
            IntakeController,
            TusController,
            ActiveJobsController,
            CacheStatsController,
            DownloadController,
            ReportTypesController,
            JobStatusController,
            JobCancelController,
            WebhookController,
            JobEventsController,
            JobHistoryController,
            SyncReportsController,
            HealthController,
            MetricsController,
            home,
            ui_router(),
            swagger_assets(),
        ],
        state=State({"services": services}),  # for the handlers that take no dependency
        dependencies={
            "services": Provide(lambda: services, use_cache=True, sync_to_thread=False),
            "principal": Provide(identify, sync_to_thread=False),
        },
        cors_config=_cors(origins),
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,  # structlog, set up by __main__, formats every line
        middleware=[DefineMiddleware(RequestMetrics, app_name="async_reports_api")],
        lifespan=[lifespan],
        openapi_config=openapi_config(),
    )
    # Litestar builds the document once, from every route; the docs are written into it.
    document(app.openapi_schema)
    return app
