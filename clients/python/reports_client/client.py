"""``ReportsClient``: submit a dataset, follow its job, download the report."""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import httpx
from httpx_sse import SSEError

from .address import API_PREFIX, DEFAULT_URL, service_url
from .downloads import ResumableDownload
from .errors import (
    ApiError,
    JobCancelled,
    JobExpired,
    JobFailed,
    JobFinished,
    JobNotFound,
    JobNotReady,
    NotAReportsService,
    ReportsClientError,
    ServiceUnavailable,
    SubmissionRejected,
    WaitTimeout,
)
from .events import READ_TIMEOUT_SECONDS, job_events
from .history import JobPage
from .models import Job, JobStatus, ReportType, Submission
from .multipart import MultipartUpload, ProgressCallback, size_of
from .network import reason, retry_after
from .tus import (
    CHUNK_BYTES,
    RESTARTS,
    NoticeCallback,
    TusUpload,
    UploadNotice,
    UploadVanished,
    restarted_notice,
)
from .uploadstate import RememberedUpload, UploadStates, upload_key
from .version import __version__
from .webhooks import WebhookEvent, WebhookStatus, verify_webhook

#: Seconds between attempts after a connection error or a 503 without Retry-After.
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)
#: Jobs per page of the history, as the service's own default (it takes 1 to 200).
DEFAULT_PAGE_SIZE = 50
#: Time allowed for the service to answer once the last byte of an upload is sent.
SUBMIT_READ_TIMEOUT_SECONDS = 300.0

#: Files larger than this (32 MB, as the command and the web page count sizes) go over tus
#: (resumable) unless told otherwise; smaller ones in one multipart request.
TUS_THRESHOLD_BYTES = 32_000_000
#: How ``submit_file`` sends a file: by its size, always over tus, or always multipart.
UPLOAD_MODES = ("auto", "tus", "multipart")

#: Answers that mean "not now": busy or unavailable (503), over the rate limit (429).
_RETRIED = frozenset({429, 503})
#: Answers to GET /report-types that only the service gives: a key missing or refused.
_ANSWERED_BY_THE_SERVICE = frozenset({401, 403, 429, 503})

#: Called with each status seen while waiting.
UpdateCallback = Callable[[Job], None]


class ReportsClient:
    """A client of the Async Reports service (thread-safe as httpx.Client is).

    ``api_key`` is sent as ``X-API-Key`` when the service requires keys. A ``base_url``
    without http:// or https://, or without a host, raises InvalidAddress at once. Files
    larger than ``tus_threshold`` bytes are sent over tus in PATCHes of ``tus_chunk_size``;
    where an unfinished one lives is kept in ``state_file`` (by default
    ``$XDG_STATE_HOME/async-reports/uploads.json``, ``~/.local/state`` without it).
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        http: httpx.Client | None = None,
        tus_threshold: int = TUS_THRESHOLD_BYTES,
        tus_chunk_size: int = CHUNK_BYTES,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.retries = max(0, retries)
        self.tus_threshold = tus_threshold
        self.tus_chunk_size = tus_chunk_size
        self.uploads = UploadStates(Path(state_file) if state_file is not None else None)
        self._owns_http = http is None
        self.http = http or httpx.Client(
            base_url=service_url(base_url),
            timeout=timeout,
            headers={"User-Agent": f"async-reports-client/{__version__}"},
        )
        if api_key:
            self.http.headers["X-API-Key"] = api_key
        self._webhook_secret: str | None = None

    def __enter__(self) -> ReportsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections (unless the httpx client was given by the caller)."""
        if self._owns_http:
            self.http.close()

    # -- reading ----------------------------------------------------------------------

    def report_types(self) -> list[ReportType]:
        """The report types the service builds now."""
        body = self._json("GET", f"{API_PREFIX}/report-types")
        return [ReportType(str(t["name"]), str(t.get("description") or "")) for t in body]

    def status(self, job_id: str) -> Job:
        """A job's current status. Raises JobNotFound or JobExpired."""
        return Job.from_json(self._json("GET", self._status_url(job_id)))

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; the job as it ended (outcome Cancelled).
        Cancelling again is harmless. Raises JobFinished if it had already ended, and
        JobNotFound or JobExpired."""
        response = self._request("DELETE", f"{API_PREFIX}/jobs/{job_id}")
        if response.status_code == 409:
            raise self._error(response, JobFinished)
        if response.status_code != 200:
            raise self._error(response)
        return Job.from_json(self._body(response))

    def active_jobs(self, user_name: str | None = None) -> list[Job]:
        """Queued and processing jobs, oldest first (only ``user_name``'s if given)."""
        params = {"userName": user_name} if user_name else None
        body = self._json("GET", f"{API_PREFIX}/active-jobs", params=params)
        return [Job.from_json(job) for job in body["jobs"]]

    def jobs_page(
        self,
        *,
        user_name: str | None = None,
        report_type: str | None = None,
        status: str | None = None,
        outcome: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of the job history, newest first (a client key's own jobs, an
        operator's all); pass its ``next_cursor`` as ``cursor`` for the next page.

        ``status`` is as the status shows it (Failed also takes cancelled and expired
        jobs; Cancelled and Expired match the outcome); ``limit`` is 1 to 200.
        """
        params: dict[str, str | int] = {"limit": limit}
        wanted = {
            "userName": user_name,
            "reportType": report_type,
            "status": status,
            "outcome": outcome,
            "cursor": cursor,
        }
        params.update({name: value for name, value in wanted.items() if value})
        return JobPage.from_json(self._json("GET", f"{API_PREFIX}/jobs", params=params))

    def jobs(
        self,
        *,
        user_name: str | None = None,
        report_type: str | None = None,
        status: str | None = None,
        outcome: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[Job]:
        """Every job of the history that matches, newest first, asking for the pages as
        they are read (stop early with ``itertools.islice`` or ``break``). Filters as in
        ``jobs_page``."""
        cursor: str | None = None
        while True:
            page = self.jobs_page(
                user_name=user_name,
                report_type=report_type,
                status=status,
                outcome=outcome,
                limit=page_size,
                cursor=cursor,
            )
            yield from page.jobs
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # -- webhooks ---------------------------------------------------------------------

    def webhook(self, job_id: str) -> WebhookStatus:
        """A job's completion webhook: where it goes, its state and every attempt."""
        return WebhookStatus.from_json(self._json("GET", f"{API_PREFIX}/jobs/{job_id}/webhook"))

    def webhook_secret(self) -> str:
        """The ``whsec_`` secret that signs the webhooks of this client's jobs (asked once)."""
        if self._webhook_secret is None:
            body = self._json("GET", f"{API_PREFIX}/webhook-secret")
            self._webhook_secret = str(body["secret"])
        return self._webhook_secret

    def verify_webhook(self, body: bytes | str, headers: Mapping[str, str]) -> WebhookEvent:
        """The event a receiver got, if it is a genuine, fresh one for this client's key;
        raises InvalidWebhook otherwise. Pass the raw body and the request's headers."""
        return verify_webhook(self.webhook_secret(), body, headers)

    # -- submitting -------------------------------------------------------------------

    def submit_file(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        report_type: str,
        user_name: str,
        *,
        large: bool = False,
        options: Mapping[str, str] | None = None,
        file_name: str | None = None,
        on_progress: ProgressCallback | None = None,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        upload_mode: str = "auto",
        on_notice: NoticeCallback | None = None,
        resume: bool = False,
    ) -> Submission:
        """Queue a JSON (or .json.gz) dataset, streamed from disk; the job's id and status URL.

        ``on_progress(sent, total)`` is called as the file goes out; ``callback_url`` is told
        when the job ends (a signed webhook, see verify_webhook). A dropped connection or
        a busy service is retried with the same Idempotency-Key, so no job is made twice.

        ``upload_mode`` "auto" sends a file larger than ``tus_threshold`` over tus, resumed
        by itself after a broken connection, a timeout or a restarting api from the offset
        the service holds (``on_notice`` is told each time, and when an upload the service
        no longer had starts over); "tus" and "multipart" force one way. A file on disk
        sent over tus is remembered in the state file until its upload finishes: with
        ``resume`` an upload of the same file (path, size, modification time), service and
        fields left unfinished by an earlier process is continued from where it stands.
        Raises SubmissionRejected (with the service's reason) or ServiceUnavailable.
        """
        if upload_mode not in UPLOAD_MODES:
            raise ValueError(f"upload_mode debe ser uno de {', '.join(UPLOAD_MODES)}")
        body: Path | BinaryIO
        if isinstance(source, str | os.PathLike):
            body = Path(source)
            name = file_name or body.name
        else:
            body = source
            own_name = getattr(source, "name", None)  # a temporary file's is a number
            name = file_name or (Path(own_name).name if isinstance(own_name, str) else "")
        fields = _fields(report_type, user_name, large, options, callback_url)
        key = idempotency_key or uuid.uuid4().hex
        size = body.stat().st_size if isinstance(body, Path) else size_of(body)
        state = upload_key(body, self._address, fields) if isinstance(body, Path) else ""
        remembered = self.uploads.get(state) if resume and state else None
        if resume and remembered is None and on_notice is not None:
            on_notice(UploadNotice("new", 0, size, _NOTHING_TO_RESUME))
        if (
            remembered is not None
            or upload_mode == "tus"
            or (upload_mode == "auto" and size > self.tus_threshold)
        ):
            fields["filename"] = name or "datos.json"
            tus = _TusSubmission(fields, key, state, remembered)
            return self._submit_tus(body, size, tus, on_progress, on_notice)
        upload = MultipartUpload(fields, "dataFile", body, name or "datos.json", on_progress)
        headers = {
            "Content-Type": upload.content_type,
            "Content-Length": str(upload.length),
            "Idempotency-Key": key,
        }
        response = self._request(
            "POST",
            f"{API_PREFIX}/queue-multipart",
            content=upload,
            headers=headers,
            timeout=httpx.Timeout(self.http.timeout.connect, read=SUBMIT_READ_TIMEOUT_SECONDS),
        )
        if response.status_code != 202:
            raise self._error(response, SubmissionRejected)
        return Submission.from_json(self._body(response))

    def unfinished_upload(
        self,
        path: str | os.PathLike[str],
        report_type: str,
        user_name: str,
        *,
        large: bool = False,
        options: Mapping[str, str] | None = None,
        callback_url: str | None = None,
    ) -> str | None:
        """The URL of an unfinished tus upload of this file with these fields, as the state
        file remembers it (``submit_file(..., resume=True)`` would continue it)."""
        fields = _fields(report_type, user_name, large, options, callback_url)
        try:
            remembered = self.uploads.get(upload_key(Path(path), self._address, fields))
        except OSError:  # no such file: nothing of it was sent
            return None
        return remembered.url if remembered else None

    def _submit_tus(
        self,
        body: Path | BinaryIO,
        size: int,
        submission: _TusSubmission,
        on_progress: ProgressCallback | None,
        on_notice: NoticeCallback | None,
    ) -> Submission:
        """Send a file over tus, from where a remembered upload stands or from its first
        byte; start over (and say so) should the service have lost it."""
        upload = TusUpload(
            self.http,
            body,
            size,
            lambda response: self._error(response, SubmissionRejected),
            chunk_size=self.tus_chunk_size,
            read_timeout=SUBMIT_READ_TIMEOUT_SECONDS,
            on_progress=on_progress,
        )
        remembered, state, restarts = submission.remembered, submission.state, 0
        key = remembered.idempotency_key if remembered else submission.idempotency_key
        while True:
            try:
                if remembered is not None:
                    _, job_url = upload.head(remembered.url)
                    if not job_url:
                        if on_notice is not None:
                            on_notice(upload.resumed_notice())
                        job_url = upload.send(on_notice)
                else:
                    url = upload.create(submission.metadata, {"Idempotency-Key": key or ""})
                    if state:
                        file = str(body.resolve()) if isinstance(body, Path) else ""
                        self.uploads.put(state, RememberedUpload(url, key, file))
                    job_url = upload.send(on_notice)
                break
            except UploadVanished:
                restarts += 1
                if restarts > RESTARTS:
                    self._forget(state)
                    raise ServiceUnavailable(
                        "El servicio perdió la carga una y otra vez; inténtelo más tarde."
                    ) from None
                remembered = None
                if on_notice is not None:
                    on_notice(restarted_notice(size))
            except SubmissionRejected:
                self._forget(state)  # the service discarded what it had of a refused upload
                raise
        self._forget(state)
        return self._submitted(job_url)

    def _forget(self, state: str) -> None:
        if state:
            self.uploads.remove(state)

    def _submitted(self, job_url: str) -> Submission:
        """The submission a finished upload became, as queue-multipart's answer shows it."""
        path = httpx.URL(job_url).path
        job = self._json("GET", path)
        return Submission.from_json(
            {
                "jobId": job["jobId"],
                "status": job.get("status"),
                "message": job.get("message"),
                "createdAt": job.get("createdAt"),
                "statusUrl": path,
            }
        )

    def submit_records(
        self,
        records: Iterable[Any],
        report_type: str,
        user_name: str,
        *,
        large: bool = False,
        options: Mapping[str, str] | None = None,
        on_progress: ProgressCallback | None = None,
        callback_url: str | None = None,
    ) -> Submission:
        """Queue records (dicts, any iterable: a generator is never held whole in memory).

        The records are written as a JSON array to a temporary file, then sent like a file.
        Dates become ISO 8601 strings and decimals numbers.
        """
        with tempfile.TemporaryFile(prefix="async-reports-") as spool:
            spool.write(b"[")
            for index, record in enumerate(records):
                if index:
                    spool.write(b",")
                spool.write(json.dumps(record, ensure_ascii=False, default=_plain).encode())
            spool.write(b"]")
            return self.submit_file(
                spool,
                report_type,
                user_name,
                large=large,
                options=options,
                file_name="datos.json",
                on_progress=on_progress,
                callback_url=callback_url,
            )

    # -- following --------------------------------------------------------------------

    def events(self, job_id: str) -> Iterator[Job]:
        """The job's status as it changes (live, no polling), ending after a final status."""
        url = f"{API_PREFIX}/events/{job_id}"
        try:
            yield from job_events(self.http, url, self._error)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(
                f"Se cortó el seguimiento del trabajo: {reason(exc, self.http.base_url)}."
            ) from exc

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_update: UpdateCallback | None = None,
        live: bool = True,
    ) -> Job:
        """Wait until the job is finished; its final status, which is always Completed.

        Follows the live event stream (``live``), or polls as the service's Retry-After
        says when the stream is not available. Raises JobFailed, JobExpired or WaitTimeout.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        reported: Job | None = None

        def report(current: Job) -> None:
            nonlocal reported
            if on_update is not None and current != reported:
                on_update(current)
            reported = current

        job = self.status(job_id)
        retry_after = 0.0
        while True:
            report(job)
            if job.finished:
                return _outcome(job)
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise WaitTimeout(job, timeout or 0.0)
            if live:
                try:
                    job = self._follow(job, deadline, report)
                    continue
                except httpx.TimeoutException:
                    continue  # silence past the read timeout: check the deadline, reconnect
                except (ServiceUnavailable, SSEError, ApiError):
                    live = False  # an older or troubled service: poll instead
            time.sleep(min(max(retry_after, 0.5), left if left is not None else 60.0))
            job, retry_after = self._poll(job_id)

    def _follow(self, job: Job, deadline: float | None, report: UpdateCallback) -> Job:
        """The job as its live stream leaves it: finished, or when the deadline passes."""
        left = None if deadline is None else deadline - time.monotonic()
        read_timeout = READ_TIMEOUT_SECONDS if left is None else min(READ_TIMEOUT_SECONDS, left)
        url = f"{API_PREFIX}/events/{job.job_id}"
        try:
            for event in job_events(self.http, url, self._error, read_timeout=read_timeout):
                report(event)
                job = event
                if job.finished or (deadline is not None and time.monotonic() >= deadline):
                    return job
        except httpx.TimeoutException:
            raise
        except httpx.TransportError as exc:
            raise ServiceUnavailable(reason(exc, self.http.base_url)) from exc
        # The stream ended before a final status (a restarting replica): read it again.
        time.sleep(0.5)
        return self.status(job.job_id)

    def _poll(self, job_id: str) -> tuple[Job, float]:
        response = self._request("GET", self._status_url(job_id))
        if response.status_code != 200:
            raise self._error(response)
        wait = retry_after(response)
        return Job.from_json(self._body(response)), 2.0 if wait is None else wait

    # -- downloading ------------------------------------------------------------------

    def download(
        self,
        job: Job | str,
        destination: str | os.PathLike[str] = ".",
        *,
        on_progress: ProgressCallback | None = None,
        attempts: int = 5,
    ) -> Path:
        """Save a completed job's ZIP; its path.

        A folder as ``destination`` (an existing one, or a path ending in ``/``) keeps the
        service's file name. A broken connection is resumed where it stopped (Range).
        """
        if isinstance(job, str):
            job = self.status(job)
        if job.status != JobStatus.COMPLETED or not job.download_url:
            if job.finished:
                _outcome(job)  # raises what it ended in
            raise JobNotReady(f"El trabajo {job.job_id} aún no termina (estado: {job.status}).")
        target = Path(destination)
        if target.is_dir() or str(destination).endswith(("/", os.sep)):
            target = target / (Path(job.file_name or "").name or f"reporte-{job.job_id}.zip")
        download = ResumableDownload(
            self.http, job.download_url, target, self._error, on_progress, attempts
        )
        return download.run()

    # -- plumbing ---------------------------------------------------------------------

    def _status_url(self, job_id: str) -> str:
        return f"{API_PREFIX}/status/{job_id}"

    def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._request(method, url, **kwargs)
        if response.status_code != 200:
            raise self._error(response)
        return self._body(response)

    def _body(self, response: httpx.Response) -> Any:
        """An answer's JSON; the service always answers JSON, so other content means the
        address is some other server's."""
        try:
            return response.json()
        except ValueError:
            raise self._elsewhere(response) from None

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, tried again after a connection error, a 503 or a 429 (as Retry-After
        says); the same Idempotency-Key makes a retried submission create no second job."""
        for attempt in range(self.retries + 1):
            wait = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)]
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise ServiceUnavailable(
                        f"No se pudo conectar con el servicio en {self._address}: "
                        f"{reason(exc, self.http.base_url)}."
                    ) from exc
            else:
                if response.status_code not in _RETRIED or attempt == self.retries:
                    return response
                wait = retry_after(response) or wait
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(
        self, response: httpx.Response, kind: type[ApiError] = ApiError
    ) -> ReportsClientError:
        """The error an answer stands for (its problem details kept). A 404, or a 4xx that
        is not problem details, is first checked to come from the service: at a wrong path
        every job would otherwise be "not found"."""
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        detail = str(problem.get("detail") or problem.get("title") or "")
        status = response.status_code
        doubtful = status == 404 or (not problem and 400 <= status < 500)
        if doubtful and status not in _RETRIED and not self._is_the_service():
            return self._elsewhere(response)
        if response.status_code == 404:
            return JobNotFound(404, problem)
        if response.status_code == 410:
            return JobExpired(detail or "El trabajo y su reporte expiraron.")
        if response.status_code == 503:
            return ServiceUnavailable(
                detail or "El servicio no está disponible.", retry_after(response)
            )
        if response.status_code >= 500:
            return ApiError(response.status_code, problem)
        return kind(response.status_code, problem)

    def _is_the_service(self) -> bool:
        """Whether the address answers as the service does: its report types (a list), or
        its problem details refusing for want of a key or while busy. Unsure (a network
        error) counts as yes."""
        try:
            response = self.http.get(f"{API_PREFIX}/report-types")
        except httpx.TransportError:
            return True
        try:
            body = response.json()
        except ValueError:
            return False  # the service answers everything in JSON
        if response.status_code == 200:
            return isinstance(body, list)
        return response.status_code in _ANSWERED_BY_THE_SERVICE and isinstance(body, dict)

    def _elsewhere(self, response: httpx.Response) -> NotAReportsService:
        """The error for an answer that did not come from the service."""
        what = response.headers.get("content-type", "").partition(";")[0] or "sin tipo"
        return NotAReportsService(
            f"La dirección {self._address} no apunta a un servicio Async Reports: "
            f"{response.request.method} {response.request.url.path} respondió "
            f"HTTP {response.status_code} ({what}). Use la dirección base del servicio, "
            f"por ejemplo {DEFAULT_URL}."
        )

    @property
    def _address(self) -> str:
        return str(self.http.base_url).rstrip("/")


def _fields(
    report_type: str,
    user_name: str,
    large: bool,
    options: Mapping[str, str] | None,
    callback_url: str | None,
) -> dict[str, str]:
    """A submission's form fields (or tus metadata)."""
    return {
        "reportType": report_type,
        "userName": user_name,
        "isLargeDataset": "true" if large else "false",
        **(options or {}),
        **({"callbackUrl": callback_url} if callback_url else {}),
    }


_NOTHING_TO_RESUME = "No hay una carga interrumpida de este archivo: se envía desde el principio"


@dataclass(frozen=True, slots=True)
class _TusSubmission:
    """What a tus upload is created with, and where an earlier one of it lives."""

    metadata: dict[str, str]
    idempotency_key: str
    state: str
    remembered: RememberedUpload | None


def _outcome(job: Job) -> Job:
    """A finished job, or the error it ended in."""
    if job.status == JobStatus.COMPLETED:
        return job
    if job.outcome == JobStatus.EXPIRED:
        raise JobExpired("El trabajo y su reporte expiraron.")
    if job.outcome == JobStatus.CANCELLED:
        raise JobCancelled(job)
    raise JobFailed(job)


def _plain(value: Any) -> Any:
    """JSON for what json.dumps does not know: dates and decimals."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} no se puede escribir como JSON")


__all__ = ["DEFAULT_URL", "ReportsClient"]
