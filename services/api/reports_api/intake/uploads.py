"""Streams a dataset from the request to object storage, never holding it whole."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import multipart
import structlog

from reports_shared.constants import GZIP_MAGIC
from reports_shared.errors import ObjectNotFound, StorageUnavailable
from reports_shared.objectstore import ObjectStore
from reports_shared.storedpayload import Deflating

from ..errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from .pipe import UploadPipe
from .sniff import HEAD_BYTES, check_head

log = structlog.get_logger(__name__)

FILE_FIELD = "dataFile"
#: Largest plain (non-file) form field.
MAX_FIELD_BYTES = 64 * 1024
MAX_SEGMENTS = 24
MIB = 1024 * 1024


@dataclass(slots=True)
class StoredPayload:
    """A dataset now in storage."""

    key: str
    size: int
    sha256: str
    file_name: str | None = None
    #: Stored gzip-compressed by the api (``size`` and ``sha256`` are of the upload).
    gzip: bool = False


@dataclass(slots=True)
class MultipartForm:
    """What a multipart submission carried: its fields, and its file once stored."""

    fields: dict[str, str] = field(default_factory=dict)
    payload: StoredPayload | None = None


#: How often a streaming upload says it is alive, and how long that lasts.
KEEPALIVE_EVERY_SECONDS = 5.0
KEEPALIVE_TTL_SECONDS = 15


class StreamingUpload:
    """One object being written from pushed chunks by a storage thread."""

    def __init__(
        self,
        objects: ObjectStore,
        key: str,
        limit: int,
        keepalive: Callable[[], Awaitable[None]],
        *,
        compress: bool = True,
    ) -> None:
        self.key = key
        self.limit = limit
        self.objects = objects
        # The janitor aborts multipart uploads idle past a grace period; a slow client's
        # bytes may not reach storage for a while (a part is 5 MiB), so say we are alive.
        self.keepalive = keepalive
        self._alive_at = 0.0
        self.pipe = UploadPipe()
        # Storage is opened once the first bytes pass the JSON check: a PDF sent by mistake
        # is refused with nothing stored and no upload marked.
        self.task: asyncio.Task[str] | None = None
        self._head: bytearray | None = bytearray()
        self.received = 0
        # Stored compressed unless the client compressed it already (gzip's own magic).
        self.compress = compress

    def _open(self) -> bytes:
        """Check the first bytes (415 if they cannot start a dataset), start the storage
        upload; the bytes held so far, to send on."""
        head = bytes(self._head or b"")
        self._head = None
        check_head(head[:HEAD_BYTES], f"El archivo '{FILE_FIELD}'")
        self.compress = self.compress and not head.startswith(GZIP_MAGIC)
        # The storage thread compresses as it reads: zlib-ng leaves the event loop free.
        source = Deflating(self.pipe) if self.compress else self.pipe
        storing = asyncio.to_thread(self.objects.put_stream, self.key, source)
        self.task = asyncio.create_task(storing)
        self.task.add_done_callback(lambda _: self.pipe.reader_failed.set())
        return head

    async def write(self, chunk: bytes) -> None:
        """Send a chunk on; fails when past the limit or when storage failed."""
        if self._head is not None:
            self._head += chunk
            if len(self._head) < HEAD_BYTES:
                return
            chunk = self._open()
        assert self.task is not None
        now = time.monotonic()
        if now - self._alive_at >= KEEPALIVE_EVERY_SECONDS:
            self._alive_at = now
            await self.keepalive()
        self.received += len(chunk)
        if self.received > self.limit:
            raise PayloadTooLarge(too_large(self.limit))
        if self.task.done():
            await self._settled()  # raises the storage error
        await self.pipe.push(chunk)

    async def finish(self) -> StoredPayload:
        """Wait until storage holds the whole object."""
        if self._head is not None:  # a file shorter than the bytes checked
            head = self._open()
            if head:
                await self.write(head)
        await self.pipe.close()
        await self._settled()
        return StoredPayload(self.key, self.pipe.size, self.pipe.sha256, gzip=self.compress)

    async def _settled(self) -> None:
        assert self.task is not None
        try:
            await self.task
        except ObjectNotFound as exc:  # the upload was aborted under us (NoSuchUpload)
            raise StorageUnavailable(f"the upload was cut short: {exc}") from exc

    async def cancel(self, exc: BaseException) -> None:
        """Abandon the upload; storage keeps nothing of it."""
        if self.task is None:  # refused or cut short before storage was opened
            return
        await self.pipe.abort(exc)
        with contextlib.suppress(BaseException):  # the abort itself raises here
            await self.task
        await remove_soon(self.objects, self.key)


#: How long a failed submission waits for storage to remove what it left before it answers:
#: storage that answers has by then; storage that hangs no longer holds the answer (503)
#: for another read timeout (it did: 20 s in all). The removal goes on meanwhile, and the
#: janitor removes what it could not (an idle multipart upload, an orphan payload).
REMOVAL_WAIT_SECONDS = 1.0
#: Removals still under way (a task nobody holds may be collected before it ends).
_removals: set[asyncio.Task[None]] = set()


async def remove_soon(objects: ObjectStore, key: str) -> None:
    """Delete ``key`` from storage, waiting up to REMOVAL_WAIT_SECONDS for it; a failure
    is logged, never raised (best effort)."""
    task = asyncio.ensure_future(asyncio.to_thread(objects.delete, key))
    _removals.add(task)
    task.add_done_callback(lambda done: _removed(done, key))
    with contextlib.suppress(Exception):  # the callback logs it
        await asyncio.wait_for(asyncio.shield(task), REMOVAL_WAIT_SECONDS)


def _removed(task: asyncio.Task[None], key: str) -> None:
    _removals.discard(task)
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("payload_removal_failed", key=key, error=type(exc).__name__)


#: Called when the file part begins, with the fields seen so far: checks them, opens the upload.
StartFile = Callable[[dict[str, str], str | None], Awaitable[StreamingUpload]]


def too_large(limit: int) -> str:
    """What a file over the limit of ``limit`` bytes is told (multipart and tus alike)."""
    return f"El archivo supera el máximo permitido de {decimal_size(limit)}."


def decimal_size(count: int) -> str:
    """A byte count as the web page and the command show sizes: decimal units (1 kB = 1000
    bytes), three figures at most, a decimal comma. Rounded down, so that a limit never reads
    as more than it is: 100 MiB is "104 MB", 5 MiB "5,2 MB"."""
    scale = 1
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 * scale or unit == "GB":
            break
        scale *= 1000
    tenths = count * 10 // scale
    if unit == "B" or tenths >= 1000 or tenths % 10 == 0:
        return f"{count // scale} {unit}"
    return f"{tenths // 10},{tenths % 10} {unit}"


def boundary_of(content_type: str) -> str:
    """The multipart boundary of a Content-Type header, or 415/400."""
    media, options = multipart.parse_options_header(content_type)
    if media != "multipart/form-data":
        raise UnsupportedMediaType(
            f"Se esperaba multipart/form-data y se recibió '{media or 'ninguno'}'."
        )
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise InvalidRequest("El encabezado Content-Type no trae un 'boundary' multipart válido.")
    return str(boundary)


async def receive_form(
    chunks: AsyncIterator[bytes],
    boundary: str,
    start_file: StartFile,
) -> MultipartForm:
    """Parse a multipart body as it arrives; the file goes to storage through ``start_file``."""
    form = MultipartForm()
    reader = _FormReader(form, start_file)
    try:
        with multipart.PushMultipartParser(
            boundary, max_segment_count=MAX_SEGMENTS, max_header_count=8, strict=False
        ) as parser:
            async for chunk in chunks:
                for event in parser.parse(chunk):
                    await reader.on_event(event)
            for event in parser.parse(b""):
                await reader.on_event(event)
    except multipart.ParserLimitReached as exc:
        await reader.abort(exc)
        raise InvalidRequest(f"Cuerpo multipart inválido: {_reason(exc)}.") from exc
    except multipart.MultipartError as exc:
        await reader.abort(exc)
        raise InvalidRequest(f"Cuerpo multipart mal formado: {_reason(exc)}.") from exc
    except BaseException as exc:
        await reader.abort(exc)
        raise
    return form


#: The multipart parser's reasons in Spanish, by how they start.
_MULTIPART_REASONS = {
    "Unexpected end of multipart stream": "el cuerpo termina antes del boundary de cierre",
    "Unexpected byte in front of first boundary": "bytes inesperados antes del primer boundary",
    "Invalid line break after first boundary": "salto de línea inválido tras el primer boundary",
    "Unexpected byte after first boundary": "byte inesperado tras el primer boundary",
    "Invalid line break in segment header": "salto de línea inválido en el encabezado de una parte",
    "Unexpected bytes after boundary": "bytes inesperados tras un boundary",
    "Segment header failed to decode": "el encabezado de una parte no es texto válido",
    "Malformed segment header": "encabezado de una parte mal formado",
    "Invalid segment header name": "nombre de encabezado inválido en una parte",
    "Multiple segment Content-Length": "una parte trae más de un Content-Length",
    "Invalid segment Content-Length": "Content-Length inválido en una parte",
    "Missing Content-Disposition": "a una parte le falta Content-Disposition",
    "Invalid Content-Disposition": "Content-Disposition inválido en una parte (no es form-data)",
    "Segment Content-Length exceeded": "una parte supera su Content-Length",
    "Segment size does not match": "el tamaño de una parte no coincide con su Content-Length",
    "Maximum segment count exceeded": f"más de {MAX_SEGMENTS} partes",
    "Maximum segment header length exceeded": "encabezado de una parte demasiado largo",
    "Maximum segment header count exceeded": "demasiados encabezados en una parte",
    "Maximum segment size exceeded": "una parte supera el tamaño máximo",
    "Segment Content-Length larger than": "una parte declara un Content-Length mayor que el máximo",
}


def _reason(exc: multipart.MultipartError) -> str:
    """The parser's reason in Spanish (its English never reaches a client)."""
    text = str(exc.args[0]) if exc.args else ""
    for start, spanish in _MULTIPART_REASONS.items():
        if text.startswith(start):
            return spanish
    return "no se pudo leer el formulario"


class _FormReader:
    def __init__(self, form: MultipartForm, start_file: StartFile) -> None:
        self.form = form
        self.start_file = start_file
        self.upload: StreamingUpload | None = None
        self.file_name: str | None = None
        self.field_name: str | None = None
        self.buffer = bytearray()
        self.in_file = False

    async def on_event(self, event: multipart.MultipartSegment | bytes | None) -> None:
        if isinstance(event, multipart.MultipartSegment):
            await self._begin(event)
        elif event is None:
            await self._end()
        elif self.in_file:
            assert self.upload is not None
            await self.upload.write(event)
        else:
            self.buffer += event
            if len(self.buffer) > MAX_FIELD_BYTES:
                raise PayloadTooLarge(
                    f"El campo '{self.field_name}' supera {MAX_FIELD_BYTES // 1024} KB."
                )

    async def _begin(self, segment: multipart.MultipartSegment) -> None:
        name = segment.name or ""
        if segment.filename is not None or name == FILE_FIELD:
            if name != FILE_FIELD:
                raise InvalidRequest(
                    f"Archivo inesperado en el campo '{name}'; use '{FILE_FIELD}'."
                )
            if self.upload is not None:
                raise InvalidRequest(f"Se envió más de un archivo en '{FILE_FIELD}'.")
            self.in_file = True
            self.file_name = segment.filename
            self.upload = await self.start_file(self.form.fields, segment.filename)
            return
        if name in self.form.fields:
            raise InvalidRequest(f"El campo '{name}' aparece más de una vez.")
        self.in_file = False
        self.field_name = name
        self.buffer = bytearray()

    async def _end(self) -> None:
        if self.in_file:
            assert self.upload is not None
            self.form.payload = await self.upload.finish()
            self.form.payload.file_name = self.file_name
            self.in_file = False
            return
        try:
            value = self.buffer.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRequest(f"El campo '{self.field_name}' no es texto UTF-8.") from exc
        self.form.fields[self.field_name or ""] = value

    async def abort(self, exc: BaseException) -> None:
        if self.upload is not None:
            await self.upload.cancel(exc)
            self.upload = None
        self.form.payload = None
