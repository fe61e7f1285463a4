"""Sending a file over tus 1.0, resumed where the service says it stands after any break.

The service's tus endpoint (``/api/AsyncReports/uploads``) takes an upload's submission
fields in ``Upload-Metadata`` at creation, stores the bytes of each PATCH as they arrive (even
those of a PATCH cut halfway), and turns the upload into a job with its last byte: that PATCH
answers 204 with ``Upload-Job-Url``. A HEAD tells how many bytes it holds, or, once the
upload is finished, the job it became.

After a broken connection, a timeout, a 409 (another PATCH still holds the upload), a 429
or a 5xx (a restarting api) this waits, asks HEAD for the offset and goes on from there; it
gives up when failures have gained no byte for ``patience`` seconds. An upload the service no
longer knows (404, or 410 once expired uploads say so) is started again from the first byte,
and the caller is told. Only the core protocol and the creation extension are used.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import httpx

from .address import API_PREFIX
from .errors import ServiceUnavailable, SubmissionRejected
from .multipart import CHUNK_SIZE, ProgressCallback
from .network import reason, retry_after

TUS_VERSION = "1.0.0"
UPLOADS_PATH = f"{API_PREFIX}/uploads"
MIB = 1024 * 1024
#: Bytes per PATCH: four of the service's 5 MiB storage parts, so that a PATCH ends on a
#: part's boundary and leaves no tail for the next one to read back.
CHUNK_BYTES = 20 * MIB
#: Seconds with no byte gained, failing, before the upload is given up: longer than the
#: 60 s the service holds an upload for a PATCH its api never finished (killed, restarted).
PATIENCE_SECONDS = 90.0
#: Seconds before the attempt after a failure (the last one repeats).
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)
#: Times one submission starts over an upload the service no longer knows.
RESTARTS = 2
#: Answers after which the same PATCH is tried again from the offset HEAD gives.
_TRANSIENT = frozenset({408, 409, 423, 429, 460, 500, 502, 503, 504})
#: Answers meaning the upload is gone: unknown (404) or expired (410).
_VANISHED = frozenset({404, 410})

#: Turns an error answer into the exception to raise (the client's own mapping).
ErrorFor = Callable[[httpx.Response], Exception]


@dataclass(frozen=True, slots=True)
class UploadNotice:
    """Something the person waiting should know: the upload ``resumed`` from ``offset``, or
    ``restarted`` from the first byte because the service no longer had it."""

    kind: str
    offset: int
    total: int
    message: str

    @property
    def percent(self) -> int:
        """How much had arrived, in whole percent (rounded down: 100 only when whole)."""
        return self.offset * 100 // self.total if self.total else 0


#: Called with each notice.
NoticeCallback = Callable[[UploadNotice], None]


class UploadVanished(Exception):
    """The service no longer knows the upload (404 or 410): it must start over."""


class _Retry(Exception):
    """A failure worth another attempt after a pause."""

    def __init__(self, why: str, after: float | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.after = after


def encode_metadata(fields: Mapping[str, str]) -> str:
    """Upload-Metadata: ``key base64(value)`` pairs separated by commas."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


class TusUpload:
    """One file sent to an upload URL (made with ``create`` or remembered from before)."""

    def __init__(
        self,
        http: httpx.Client,
        source: Path | BinaryIO,
        length: int,
        error_for: ErrorFor,
        *,
        chunk_size: int = CHUNK_BYTES,
        patience: float = PATIENCE_SECONDS,
        read_timeout: float = 300.0,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.http = http
        self.source = source
        self.length = length
        self.error_for = error_for
        self.chunk_size = max(1, chunk_size)
        self.patience = patience
        self.timeout = httpx.Timeout(http.timeout.connect, read=read_timeout)
        self.on_progress = on_progress
        self.url = ""
        #: The offset the service last confirmed.
        self.offset = 0

    def create(self, metadata: Mapping[str, str], headers: Mapping[str, str]) -> str:
        """A new upload at the service (tus creation); its absolute URL."""
        sent = {
            "Tus-Resumable": TUS_VERSION,
            "Upload-Length": str(self.length),
            "Upload-Metadata": encode_metadata(metadata),
            **headers,
        }
        response = self._call("POST", UPLOADS_PATH, headers=sent)
        if response.status_code != 201 or not response.headers.get("location"):
            raise self.error_for(response)
        self.url = str(response.url.join(response.headers["location"]))
        self.offset = 0
        return self.url

    def head(self, url: str) -> tuple[int, str]:
        """Where the upload at ``url`` stands: its offset and, once finished, its job's status
        URL. Raises UploadVanished when the service no longer has it."""
        self.url = url
        return self._head_patiently(0)

    def send(self, on_notice: NoticeCallback | None = None) -> str:
        """Send what the service lacks, from ``offset``; the job's status URL."""
        failures = 0
        progress_at = time.monotonic()
        known = True
        with self._open() as stream:
            while True:
                try:
                    if not known:
                        before = self.offset
                        self.offset, job_url = self._head()
                        known = True
                        if job_url:
                            return job_url
                        if self.offset > before:  # the broken PATCH's bytes arrived
                            failures, progress_at = 0, time.monotonic()
                        self._notify(on_notice, "resumed")
                    job_url = self._patch(stream)
                    failures, progress_at = 0, time.monotonic()
                    if job_url:
                        return job_url
                except _Retry as retry:
                    failures += 1
                    self._give_up_after(retry, progress_at)
                    self._pause(retry, failures)
                    known = False

    def resumed_notice(self) -> UploadNotice:
        """The notice of an upload taken up again at ``offset``."""
        return self._notice("resumed")

    # -- one request each -----------------------------------------------------------------

    def _head(self) -> tuple[int, str]:
        response = self._call("HEAD", self.url, headers={"Tus-Resumable": TUS_VERSION})
        if response.status_code != 200:
            self._refused(response)
        return self._offset_of(response), str(response.headers.get("upload-job-url", ""))

    def _head_patiently(self, failures: int) -> tuple[int, str]:
        started = time.monotonic()
        while True:
            try:
                self.offset, job_url = self._head()
                return self.offset, job_url
            except _Retry as retry:
                failures += 1
                self._give_up_after(retry, started)
                self._pause(retry, failures)

    def _give_up_after(self, retry: _Retry, progress_at: float) -> None:
        """Raise ServiceUnavailable once failures have gained nothing for ``patience``."""
        if time.monotonic() - progress_at < self.patience:
            return
        raise ServiceUnavailable(
            f"La carga no avanzó en {self.patience:g} s ({self.offset} de {self.length} bytes "
            f"recibidos por el servicio): {retry.why}. Vuelva a enviarla para continuar."
        ) from retry

    def _patch(self, stream: BinaryIO) -> str:
        """One PATCH from ``offset`` to the next multiple of the chunk size; the job's
        status URL if it was the last."""
        start = self.offset
        end = min(self.length, (start // self.chunk_size + 1) * self.chunk_size)
        headers = {
            "Tus-Resumable": TUS_VERSION,
            "Upload-Offset": str(start),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(end - start),
        }
        body = self._chunk(stream, start, end)
        response = self._call("PATCH", self.url, content=body, headers=headers)
        if response.status_code != 204:
            self._refused(response)
        self.offset = self._offset_of(response)
        return str(response.headers.get("upload-job-url", ""))

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, url, timeout=self.timeout, **kwargs)
        except httpx.TransportError as exc:
            raise _Retry(reason(exc, self.http.base_url)) from exc

    def _refused(self, response: httpx.Response) -> NoReturn:
        """Raise what an answer other than success stands for."""
        status = response.status_code
        if status in _VANISHED:
            raise UploadVanished(str(status))
        if status in _TRANSIENT:
            raise _Retry(f"el servicio respondió HTTP {status}", retry_after(response))
        raise self.error_for(response)

    def _offset_of(self, response: httpx.Response) -> int:
        text = response.headers.get("upload-offset", "")
        if not text.isdigit() or int(text) > self.length:
            raise SubmissionRejected(
                response.status_code,
                {"detail": f"El servicio dio un Upload-Offset no válido: {text[:30]!r}."},
            )
        return int(text)

    # -- the bytes ----------------------------------------------------------------------

    def _chunk(self, stream: BinaryIO, start: int, end: int) -> Iterator[bytes]:
        """The file's bytes from ``start`` to ``end``, read as the connection takes them."""
        stream.seek(start)
        sent = start
        self._report(sent)
        while sent < end:
            data = stream.read(min(CHUNK_SIZE, end - sent))
            if not data:
                raise OSError("el archivo se acortó mientras se enviaba")
            yield data
            sent += len(data)
            self._report(sent)

    def _open(self) -> AbstractContextManager[BinaryIO]:
        if isinstance(self.source, Path):
            return self.source.open("rb")
        return nullcontext(self.source)  # the caller's file: theirs to close

    def _report(self, done: int) -> None:
        if self.on_progress is not None:
            self.on_progress(done, self.length)

    # -- pauses and notices -------------------------------------------------------------

    def _pause(self, retry: _Retry, failures: int) -> None:
        wait = BACKOFF_SECONDS[min(failures - 1, len(BACKOFF_SECONDS) - 1)]
        time.sleep(retry.after if retry.after is not None else wait)

    def _notify(self, on_notice: NoticeCallback | None, kind: str) -> None:
        if on_notice is not None:
            on_notice(self._notice(kind))

    def _notice(self, kind: str) -> UploadNotice:
        percent = self.offset * 100 // self.length if self.length else 0
        message = f"Reanudando desde {percent} % (byte {self.offset} de {self.length})"
        return UploadNotice(kind, self.offset, self.length, message)


def restarted_notice(total: int) -> UploadNotice:
    """The notice of an upload the service no longer had, sent again from the first byte."""
    return UploadNotice(
        "restarted",
        0,
        total,
        "La carga anterior ya no existe en el servicio (expiró o se canceló): "
        "se envía de nuevo desde el principio",
    )
