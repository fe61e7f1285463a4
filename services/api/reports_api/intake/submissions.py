"""Accepting a job: check the request, record the job, enqueue its message; undo on failure."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import structlog

from reports_shared.cache import CacheEntry, ReportCache
from reports_shared.constants import JobStatus, Lane
from reports_shared.errors import StaleCacheEntry, UnknownReportType
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import AsyncJobStore, JobStore
from reports_shared.messages import message_for
from reports_shared.objectstore import ObjectStore
from reports_shared.results import serve_from_cache
from reports_shared.storedpayload import drop_payload

from ..errors import Busy, InvalidRequest
from ..settings import ApiSettings
from .callbacks import Callbacks
from .publisher import Publisher
from .uploads import StoredPayload, remove_soon

log = structlog.get_logger(__name__)

_TRUE = {"true", "1", "yes", "si", "sí", "on"}
_FALSE = {"false", "0", "no", "off", ""}
#: Every spelling of a flag the api takes (the docs list them).
FLAG_VALUES = sorted(_TRUE | _FALSE)
#: C0 and C1 control characters and DEL: ESC, BEL, CR, LF, NUL... A stored text is shown
#: to others (the history, the operator's terminal), where they would run, not show.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_NO_CONTROL = "no admite caracteres de control (como ESC, tabulador o saltos de línea)."


@dataclass(frozen=True, slots=True)
class Submission:
    """A checked request to build a report."""

    report_type: str
    user_name: str
    is_large_dataset: bool
    options: dict[str, str]
    owner: str = ""
    #: Where the completion webhook goes ("": none).
    callback_url: str = ""


def parse_flag(name: str, value: str | bool | None) -> bool:
    """A boolean form field ('true', 'false', ...)."""
    if isinstance(value, bool):
        return value
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidRequest(f"El campo '{name}' debe ser 'true' o 'false'.")


def check_text(name: str, value: str) -> str:
    """``value`` if it holds no control character; 400 naming the field otherwise."""
    if _CONTROL.search(value):
        raise InvalidRequest(f"'{name}' {_NO_CONTROL}")
    return value


def check_options(
    report_type: str, options: Mapping[str, str], allowed: Mapping[str, Sequence[str]]
) -> None:
    """400 naming an option (or form field) the report type does not take, or a value it
    does not allow, with the valid ones: checked before anything is stored."""
    valid = {"validOptions": {name: list(values) for name, values in allowed.items()}}
    for name, value in options.items():
        if name not in allowed:
            raise InvalidRequest(
                f"Campo u opción desconocida '{name[:100]}' para {report_type}. "
                f"Opciones válidas: {', '.join(sorted(allowed)) or 'ninguna'}.",
                **valid,
            )
        if value not in allowed[name]:
            raise InvalidRequest(
                f"Valor '{value[:100]}' no válido para la opción '{name}'. "
                f"Valores válidos: {', '.join(allowed[name])}.",
                **valid,
            )


class Submitter:
    """Turns checked submissions into queued jobs."""

    def __init__(
        self,
        settings: ApiSettings,
        jobs: AsyncJobStore,
        objects: ObjectStore,
        publisher: Publisher,
        sync_jobs: JobStore,
        cache: ReportCache,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.objects = objects
        self.publisher = publisher
        self.sync_jobs = sync_jobs
        self.cache = cache
        self.callbacks = Callbacks(
            settings.webhook_defaults, settings.webhook_allow_private_addresses
        )

    @staticmethod
    def new_job_id() -> str:
        """A fresh job id."""
        return str(uuid.uuid4())

    async def check(
        self,
        report_type: str | None,
        user_name: str | None,
        is_large_dataset: str | bool | None,
        options: dict[str, str] | None = None,
        owner: str = "",
        callback_url: str | None = None,
        asynchronous: bool = True,
    ) -> Submission:
        """Validate the fields of a submission (before any data is read where possible).

        ``callback_url``: its callbackUrl field if sent; an asynchronous submission without
        one gets its key's default callback (the synchronous endpoint never has one).
        """
        report_type = (report_type or "").strip()
        if not report_type:
            raise InvalidRequest("Falta el campo obligatorio 'reportType'.")
        catalog = await self.jobs.report_types()
        if not catalog:
            raise Busy(
                "Ningún worker ha anunciado todavía los tipos de reporte que construye; "
                "intente de nuevo en unos segundos."
            )
        if report_type not in catalog:
            raise UnknownReportType(report_type, catalog)
        options = dict(options or {})
        for name, value in options.items():
            if _CONTROL.search(name) or _CONTROL.search(value):
                raise InvalidRequest(f"La opción {name[:100]!r} {_NO_CONTROL}")
        allowed = (await self.jobs.report_options()).get(report_type)
        if allowed is not None:
            check_options(report_type, options, allowed)
        user_name = (user_name or "").strip()
        if not user_name:
            raise InvalidRequest("Falta el campo obligatorio 'userName'.")
        if len(user_name) > self.settings.max_user_name_length:
            raise InvalidRequest(
                f"'userName' supera {self.settings.max_user_name_length} caracteres."
            )
        check_text("userName", user_name)
        return Submission(
            report_type=report_type,
            user_name=user_name,
            is_large_dataset=parse_flag("isLargeDataset", is_large_dataset),
            options=options,
            owner=owner,
            callback_url=self.callbacks.for_submission(callback_url, owner) if asynchronous else "",
        )

    async def enqueue(
        self, job_id: str, submission: Submission, payload: StoredPayload
    ) -> JobRecord:
        """Record the job and put its message on the queue; on failure leave nothing behind."""
        large = submission.is_large_dataset or payload.size >= self.settings.large_dataset_bytes
        record = JobRecord(
            job_id=job_id,
            status=JobStatus.QUEUED,
            message="Trabajo en cola",
            report_type=submission.report_type,
            user_name=submission.user_name,
            owner=submission.owner,
            created_at=utcnow(),
            lane=Lane.LARGE if large else Lane.SMALL,
            is_large_dataset=submission.is_large_dataset,
            payload_key=payload.key,
            payload_bytes=payload.size,
            payload_gzip=payload.gzip,
            payload_sha256=payload.sha256,
            options=submission.options,
            callback_url=submission.callback_url,
        )
        message = message_for(record)
        key = self.cache.key_for(record)
        entry = await asyncio.to_thread(self.cache.lookup, key) if key else None
        try:
            await self.jobs.create(record)
            if entry is not None:
                try:
                    return await self._serve_cached(record, entry)
                except StaleCacheEntry:  # storage lost the ZIP: built like any other miss
                    log.info("cache_entry_stale", job_id=job_id)
            await self.publisher.publish(message)
            await self.jobs.mark_enqueued(job_id, utcnow())
        except Exception:
            await self.discard(job_id, payload.key)
            raise
        log.info("job_queued", job_id=job_id, lane=record.lane.value, bytes=payload.size)
        return record

    async def _serve_cached(self, record: JobRecord, entry: CacheEntry) -> JobRecord:
        """Complete the job at once from the cache; the payload is not needed."""
        await asyncio.to_thread(
            serve_from_cache, self.sync_jobs, self.cache, record, entry,
            self.settings.job_ttl_seconds,
        )  # fmt: skip
        await asyncio.to_thread(drop_payload, self.objects, record, self.settings)
        log.info("job_served_from_cache", job_id=record.job_id)
        served = await self.jobs.get(record.job_id)
        return served or record

    async def discard(self, job_id: str, payload_key: str) -> None:
        """Remove what a failed submission left (best effort; the janitor catches the rest)."""
        try:
            await self.jobs.delete(job_id)
        except Exception:
            log.warning("discard_record_failed", job_id=job_id)
        await remove_soon(self.objects, payload_key)
