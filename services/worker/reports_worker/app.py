"""What the ``dramatiq`` CLI imports in each worker process: ``reports_worker.app:setup``."""

from __future__ import annotations

import threading
import time

import structlog

from reports_shared.cache import ReportCache
from reports_shared.errors import ReportsError
from reports_shared.jobstore import JobStore
from reports_shared.logs import configure_logging
from reports_shared.objectstore import ObjectStore

from . import settings as worker_settings
from .actors import create_broker
from .building.forkserver import start_helper_server
from .machine import helpers_allowed
from .reporttypes import load_report_types, register_plugins, report_options
from .services import Services


def create_services(settings: worker_settings.WorkerSettings) -> Services:
    """The clients of one worker process."""
    jobs = JobStore.from_url(settings.redis_url, settings.names)
    objects = ObjectStore.from_settings(settings)
    cache = ReportCache.from_settings(settings, jobs.client, objects)
    return Services(settings=settings, jobs=jobs, objects=objects, cache=cache)


def setup() -> None:
    """Load settings, set the broker and register the actor (called by the dramatiq CLI)."""
    settings = worker_settings.load()
    configure_logging(settings.log_level, settings.log_format)
    register_plugins(settings.report_plugins)
    services = create_services(settings)
    try:
        services.objects.ensure_bucket()
    except ReportsError as exc:  # storage may come later; jobs retry until it does
        structlog.get_logger(__name__).warning("bucket_check_failed", error=str(exc))
    create_broker(services)
    if helpers_allowed(settings.build_processes):
        start_helper_server()
    types = load_report_types()
    catalog = {name: cls.description for name, cls in types.items()}
    shown = {name: cls.display_name or name for name, cls in types.items()}
    threading.Thread(
        target=_announce,
        args=(services, catalog, report_options(), shown),
        name="announce",
        daemon=True,
    ).start()
    structlog.get_logger(__name__).info("worker_ready", report_types=sorted(catalog))


#: How often a worker announces its report types again (Redis may have lost them).
ANNOUNCE_EVERY_SECONDS = 5.0


def _announce(
    services: Services,
    catalog: dict[str, str],
    options: dict[str, dict[str, list[str]]],
    display_names: dict[str, str],
) -> None:
    """Publish the report types, their options and display names now and again every
    ANNOUNCE_EVERY_SECONDS."""
    while True:
        try:
            services.jobs.publish_report_types(catalog, options, display_names)
        except ReportsError as exc:
            structlog.get_logger(__name__).warning("announce_failed", error=str(exc))
            time.sleep(1.0)
            continue
        time.sleep(ANNOUNCE_EVERY_SECONDS)
