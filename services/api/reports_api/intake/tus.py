"""Resumable uploads over tus 1.0 (core, creation, creation-with-upload, termination and
expiration): POST /api/AsyncReports/uploads creates one, HEAD tells what arrived, PATCH adds
bytes; the PATCH that brings the last byte turns the upload into a job, as queue-multipart.

Upload-Metadata carries the submission's fields (reportType, userName, isLargeDataset,
callbackUrl and the report type's options), checked at creation as a multipart form's are,
so bad metadata is refused before any byte is sent. Bytes go to an S3 multipart upload at
``payloads/{id}``, the upload's id being the job's; what does not fill a part waits in a small
tail object (see tusstate), so any api replica can take the next PATCH.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Annotated, Any

import structlog
from litestar import Controller, Request, Response, delete, head, patch, post, route
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.openapi.spec import Parameter as OpenAPIParameter
from litestar.params import FromPath, HeaderParameter
from litestar.types import ExceptionHandlersMap

from reports_shared.constants import API_PREFIX, status_url
from reports_shared.jobs import JobRecord
from reports_shared.objectstore import PART_SIZE, ObjectStore, PendingUpload

from ..access.keys import Principal, client_identity
from ..errors import EXCEPTION_HANDLERS, ApiError, InvalidRequest, PayloadTooLarge
from ..openapi import problems
from ..state import Services
from . import idempotency
from .sniff import HEAD_BYTES, check_head
from .submissions import Submission
from .tusstate import GONE_SECONDS, TusStates, TusUpload, tail_key, upload_prefix
from .uploads import MIB, StoredPayload, too_large

log = structlog.get_logger(__name__)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
#: Upload-Checksum's algorithms (tus checksum extension), as hashlib names them.
CHECKSUM_ALGORITHMS = ("sha1", "md5", "sha256")
OFFSET_STREAM = "application/offset+octet-stream"
#: Header of a finished upload's answers: where to follow the job it became.
JOB_URL_HEADER = "Upload-Job-Url"
UPLOADS_PATH = f"{API_PREFIX}/uploads"
#: Metadata keys tus clients send on their own (Uppy, tus-js-client): not report options.
CLIENT_METADATA = frozenset({"filename", "filetype", "name", "type", "relativePath"})
_FIELDS = frozenset({"reportType", "userName", "isLargeDataset", "callbackUrl"})
#: How often, in parts of its lock's time (AR_TUS_LOCK_SECONDS), a PATCH taking bytes
#: renews its hold on its upload.
_RENEWALS_PER_LOCK = 4
#: How long a DELETE waits for a PATCH on the same upload to end (else 409).
_TERMINATE_WAIT_SECONDS = 5.0
#: How long a HEAD waits for a PATCH on the same upload to end, so that it answers the
#: offset that PATCH leaves: a connection cut mid-PATCH is followed at once by the client's
#: HEAD while the server still stores the bytes that arrived (else the client resumes from
#: an older offset and its PATCH is refused, 409, while the cut one finishes).
_HEAD_WAIT_SECONDS = 3.0
#: Uploads whose payload hash this process carries between PATCHes (see _PayloadHashes).
_CARRIED_HASHES = 1000


class TusVersionMissing(ApiError):
    """Tus-Resumable missing or not 1.0.0."""

    status = 412
    title = "Versión de tus no admitida"


class UploadOffsetMismatch(ApiError):
    """Upload-Offset is not where the upload stands."""

    status = 409
    title = "Desplazamiento incorrecto"


class UploadBusy(ApiError):
    """Another request is sending bytes to the upload (tus: 409, as for a wrong offset)."""

    status = 409
    title = "Carga en uso"


class UploadNotFound(ApiError):
    """No upload with that id for this key (unknown, expired or another client's)."""

    status = 404
    title = "No encontrado"


class UploadGone(ApiError):
    """The caller's upload expired (its tombstone says so): it must start again."""

    status = 410
    title = "Carga expirada"


class ChecksumMismatch(ApiError):
    """A PATCH's body does not match its Upload-Checksum (tus: 460); none of it is kept."""

    status = 460
    title = "La suma de verificación no coincide"


class WrongUploadType(ApiError):
    """A PATCH whose body is not application/offset+octet-stream."""

    status = 415
    title = "Tipo de contenido no admitido"


def _with_tus_version(handler: Callable[..., Response[Any]]) -> Callable[..., Response[Any]]:
    def answer(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        response = handler(request, exc)
        response.headers["Tus-Resumable"] = TUS_VERSION  # tus: on every answer but OPTIONS
        return response

    return answer


_TUS_HANDLERS: ExceptionHandlersMap = {
    kind: _with_tus_version(handler) for kind, handler in EXCEPTION_HANDLERS.items()
}


def _tus_header(name: str, description: str) -> Any:
    return HeaderParameter(name=name, required=False, description=description)


TusResumable = Annotated[
    str | None, _tus_header("Tus-Resumable", "Versión del protocolo tus: 1.0.0 (obligatorio).")
]
UploadOffset = Annotated[
    str | None,
    _tus_header("Upload-Offset", "Desde qué byte van estos datos: el Upload-Offset del HEAD."),
]
UploadChecksum = Annotated[
    str | None,
    _tus_header(
        "Upload-Checksum",
        "Opcional: 'algoritmo base64' del cuerpo de este PATCH (sha1, md5 o sha256); si no "
        "coincide, 460 y no se guarda nada de él.",
    ),
]


_REQUIRED_HEADERS: dict[str, Schema] = {
    "Tus-Resumable": Schema(type=OpenAPIType.STRING, enum=[TUS_VERSION]),
    "Upload-Length": Schema(type=OpenAPIType.STRING, pattern="^[0-9]{1,18}$"),
    "Upload-Offset": Schema(type=OpenAPIType.STRING, pattern="^[0-9]{1,18}$"),
    "Upload-Metadata": Schema(type=OpenAPIType.STRING, min_length=1),
}


@dataclass
class TusOperation(Operation):
    """A tus operation as the protocol states it: its headers required (the handler reads
    them itself, to answer a missing Tus-Resumable with tus' 412 rather than a 400), its
    answers bodiless, a PATCH's body application/offset+octet-stream."""

    def __post_init__(self) -> None:
        for parameter in self.parameters or []:
            if isinstance(parameter, OpenAPIParameter) and parameter.name in _REQUIRED_HEADERS:
                parameter.required = True
                parameter.schema = _REQUIRED_HEADERS[parameter.name]
        for status, response in (self.responses or {}).items():
            if status.startswith("2") and isinstance(response, OpenAPIResponse):
                response.content = None  # 201, 204 and HEAD's 200 have no body
        if "Upload-Offset" in {getattr(p, "name", "") for p in self.parameters or []}:
            binary = Schema(type=OpenAPIType.STRING, format="binary")  # type: ignore[arg-type]
            self.request_body = RequestBody(
                content={OFFSET_STREAM: OpenAPIMediaType(schema=binary)}, required=True
            )


class TusController(Controller):
    """tus 1.0 resumable uploads that become jobs when their last byte arrives."""

    path = UPLOADS_PATH
    tags = ["AsyncReports"]  # noqa: RUF012 - Litestar reads this class attribute
    exception_handlers = _TUS_HANDLERS
    response_headers = [ResponseHeader(name="Tus-Resumable", value=TUS_VERSION)]  # noqa: RUF012

    # Named to sort first: Litestar registers a controller's handlers by name, and the first
    # handler of a path gets an automatic OPTIONS handler unless it has one already.
    @route("/", http_method=[HttpMethod.OPTIONS], status_code=204, operation_class=TusOperation)
    async def announce(self, services: NamedDependency[Services]) -> Response[None]:
        """What this tus server speaks: version, extensions and largest upload."""
        return _announcement(services, "OPTIONS, POST")

    @route(
        "/{upload_id:str}",
        http_method=[HttpMethod.OPTIONS],
        status_code=204,
        operation_class=TusOperation,
    )
    async def announce_upload(
        self, services: NamedDependency[Services], upload_id: FromPath[str]
    ) -> Response[None]:
        """The same, on an upload's URL."""
        return _announcement(services, "DELETE, HEAD, OPTIONS, PATCH")

    @post(
        "/",
        status_code=201,
        operation_class=TusOperation,
        request_max_body_size=None,
        responses=problems(400, 401, 404, 409, 412, 413, 415, 429, 503),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        tus_resumable: TusResumable = None,
        upload_length: Annotated[
            str | None,
            _tus_header("Upload-Length", "Tamaño total del archivo en bytes (obligatorio)."),
        ] = None,
        upload_metadata: Annotated[
            str | None,
            _tus_header(
                "Upload-Metadata",
                "Pares 'clave base64' separados por comas: reportType y userName "
                "(obligatorios), isLargeDataset, callbackUrl y las opciones del tipo de reporte.",
            ),
        ] = None,
        idempotency_key: Annotated[
            str | None,
            _tus_header("Idempotency-Key", "Un reintento con la misma clave da el mismo trabajo."),
        ] = None,
    ) -> Response[None]:
        """Create an upload (tus creation); its bytes may come in this request already."""
        _check_version(tus_resumable)
        if request.headers.get("upload-defer-length") is not None:
            raise InvalidRequest(
                "Upload-Defer-Length no se admite: envíe Upload-Length con el tamaño del archivo."
            )
        limit = services.settings.max_upload_bytes
        text = (upload_length or "").strip()
        if text.isascii() and text.isdigit() and len(text) > 18:
            raise PayloadTooLarge(too_large(limit))  # past any limit (and a signed 64-bit int)
        length = _count(upload_length, "Upload-Length")
        if length > limit:
            raise PayloadTooLarge(too_large(limit))
        if length == 0:
            raise InvalidRequest("El archivo está vacío: Upload-Length es 0.")
        metadata = parse_metadata(upload_metadata or "")
        checksum = parse_checksum(request.headers.get("upload-checksum"))
        await _check_metadata(services, metadata, principal.name)
        if idempotency_key and len(idempotency_key) > idempotency.MAX_KEY_LENGTH:
            raise InvalidRequest(
                f"El encabezado Idempotency-Key supera {idempotency.MAX_KEY_LENGTH} caracteres."
            )
        if await _earlier_job(services, principal.name, idempotency_key or "") is None:
            await services.submissions.check(client_identity(principal, request))
        states = services.tus_states
        upload = TusUpload(
            upload_id=services.submitter.new_job_id(),
            owner=principal.name,
            length=length,
            metadata=metadata,
            idempotency_key=idempotency_key or "",
            expires_at=states.next_expiry(),
        )
        await states.put(upload)
        await _keep_alive(services, upload)
        headers = {"Location": f"{UPLOADS_PATH}/{upload.upload_id}"}
        log.info("tus_upload_created", job_id=upload.upload_id, bytes=length)
        if _media_type(request) == OFFSET_STREAM:  # creation-with-upload
            try:
                upload = await _append(request, services, states, upload, 0, checksum)
            except PayloadTooLarge:
                # A body past its own Upload-Length is the client's mistake, not a cut to
                # resume: the upload goes with it (no one has its Location yet).
                await _forget(services, states, upload)
                raise
        headers.update(_progress(upload))
        return Response(None, status_code=201, headers=headers)

    @head("/{upload_id:str}", operation_class=TusOperation, responses=problems(401, 404, 410, 412))
    async def progress(
        self,
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        upload_id: FromPath[str],
        tus_resumable: TusResumable = None,
    ) -> Response[None]:
        """How many bytes of an upload arrived (Upload-Offset) of how many (Upload-Length)."""
        _check_version(tus_resumable)
        states = services.tus_states
        upload = await _owned(states, upload_id, principal)
        if await states.wait_unlocked(upload_id, _HEAD_WAIT_SECONDS):
            upload = await _owned(states, upload_id, principal)  # as that PATCH left it
        headers = {**_progress(upload), "Upload-Length": str(upload.length)}
        headers["Cache-Control"] = "no-store"
        return Response(None, status_code=200, headers=headers)

    @patch(
        "/{upload_id:str}",
        status_code=204,
        operation_class=TusOperation,
        request_max_body_size=None,
        responses=problems(400, 401, 404, 409, 410, 412, 413, 415, 422, 460, 503),
    )
    async def append(
        self,
        request: Request[Any, Any, Any],
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        upload_id: FromPath[str],
        tus_resumable: TusResumable = None,
        upload_offset: UploadOffset = None,
        upload_checksum: UploadChecksum = None,
    ) -> Response[None]:
        """Add bytes at Upload-Offset; the last ones turn the upload into a job, whose status
        URL the Upload-Job-Url header gives (a 204 has no body)."""
        _check_version(tus_resumable)
        if _media_type(request) != OFFSET_STREAM:
            raise WrongUploadType(f"Un PATCH de tus debe enviarse como {OFFSET_STREAM}.")
        checksum = parse_checksum(upload_checksum)
        states = services.tus_states
        upload = await _owned(states, upload_id, principal)
        offset = _count(upload_offset, "Upload-Offset")
        if offset != upload.offset:
            raise UploadOffsetMismatch(
                f"Upload-Offset es {offset} y la carga va en el byte {upload.offset}: "
                "consulte el desplazamiento con HEAD y continúe desde ahí.",
                uploadOffset=upload.offset,
            )
        if not upload.job_id:
            upload = await _append(request, services, states, upload, offset, checksum)
        return Response(None, status_code=204, headers=_progress(upload))

    @delete(
        "/{upload_id:str}",
        status_code=204,
        operation_class=TusOperation,
        responses=problems(401, 404, 409, 410, 412),
    )
    async def terminate(
        self,
        services: NamedDependency[Services],
        principal: NamedDependency[Principal],
        upload_id: FromPath[str],
        tus_resumable: TusResumable = None,
    ) -> None:
        """Abandon an upload (tus termination): storage keeps none of its bytes."""
        _check_version(tus_resumable)
        states = services.tus_states
        await _owned(states, upload_id, principal)
        # The PATCH lock, so that no PATCH stores or saves anything of it meanwhile or after
        # (a client cancelling closes its PATCH and sends this at once: that PATCH lets go).
        token = await states.lock_waiting(
            upload_id, services.settings.tus_lock_seconds, _TERMINATE_WAIT_SECONDS
        )
        if token is None:
            raise UploadBusy(
                "Otra solicitud sigue enviando datos a esta carga: interrumpa ese envío "
                "(cierre su conexión) e intente de nuevo."
            )
        try:
            upload = await _owned(states, upload_id, principal)  # as that PATCH left it
            await states.delete(upload_id)
            if not upload.job_id:  # a finished upload's bytes are its job's now
                await _discard_bytes(services, upload)
        finally:
            await states.unlock(upload_id, token)
        log.info("tus_upload_terminated", job_id=upload_id)


def _announcement(services: Services, allow: str) -> Response[None]:
    return Response(
        None,
        status_code=204,
        headers={
            "Allow": allow,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(services.settings.max_upload_bytes),
            "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
        },
    )


@dataclass(frozen=True, slots=True)
class Checksum:
    """An Upload-Checksum: the algorithm and the digest the body must have."""

    algorithm: str
    digest: bytes


def parse_checksum(header: str | None) -> Checksum | None:
    """Upload-Checksum ('algorithm base64digest'), None if absent, or 400."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm.lower() not in CHECKSUM_ALGORITHMS:
        raise InvalidRequest(
            f"Upload-Checksum usa '{algorithm[:20]}': se admiten {', '.join(CHECKSUM_ALGORITHMS)}."
        )
    algorithm = algorithm.lower()
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII header (read as latin-1)
        digest = b""
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise InvalidRequest(
            f"Upload-Checksum debe ser '{algorithm} ' y el resumen {algorithm} en base64."
        )
    return Checksum(algorithm, digest)


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata ('key base64value' pairs separated by commas) as text, or 400."""
    found: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, encoded = pair.partition(" ")
        if key in found:
            raise InvalidRequest(f"La clave '{key[:100]}' aparece dos veces en Upload-Metadata.")
        try:
            found[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except ValueError as exc:  # not base64 (binascii.Error), not ASCII, or not UTF-8
            raise InvalidRequest(
                f"El valor de '{key[:100]}' en Upload-Metadata no es base64 de texto UTF-8."
            ) from exc
    return found


async def _check_metadata(services: Services, metadata: dict[str, str], owner: str) -> Submission:
    """The same checks as a multipart form's fields."""
    skipped = _FIELDS | CLIENT_METADATA
    return await services.submitter.check(
        metadata.get("reportType"),
        metadata.get("userName"),
        metadata.get("isLargeDataset"),
        {k: v for k, v in metadata.items() if k not in skipped},
        owner=owner,
        callback_url=metadata.get("callbackUrl"),
    )


def _check_version(value: str | None) -> None:
    if value != TUS_VERSION:
        raise TusVersionMissing(
            f"Falta el encabezado Tus-Resumable: {TUS_VERSION} (la versión de tus que se habla)."
            if value is None
            else f"Tus-Resumable '{value[:20]}' no se admite; este servidor habla {TUS_VERSION}.",
            tusVersion=TUS_VERSION,
        )


def _count(value: str | None, name: str) -> int:
    if value is None:
        raise InvalidRequest(f"Falta el encabezado {name}.")
    text = value.strip()
    if not text.isdigit() or len(text) > 18:
        raise InvalidRequest(f"El encabezado {name} debe ser un número de bytes, no '{text[:30]}'.")
    return int(text)


def _media_type(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _owned(states: TusStates, upload_id: str, principal: Principal) -> TusUpload:
    """The caller's upload, 410 if it expired, or 404 (another key's upload is not said to
    exist, nor to have expired)."""
    upload = await states.get(upload_id) if len(upload_id) <= 64 else None
    if upload is None and len(upload_id) <= 64 and await states.expired(upload_id, principal.name):
        raise UploadGone(
            "La carga expiró: pasó más tiempo del permitido sin recibir datos y se descartó "
            "lo enviado. Inicie una carga nueva (POST /uploads) con el archivo completo."
        )
    if upload is None or upload.owner != principal.name:
        raise UploadNotFound(
            "No existe esa carga: el identificador es incorrecto, expiró o es de otro cliente."
        )
    return upload


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _progress(upload: TusUpload) -> dict[str, str]:
    headers = {"Upload-Offset": str(upload.offset), "Upload-Expires": _http_date(upload.expires_at)}
    if upload.job_id:
        headers[JOB_URL_HEADER] = status_url(upload.job_id)
    return headers


async def _keep_alive(services: Services, upload: TusUpload) -> None:
    # The janitor aborts multipart uploads of payloads/ nobody marks as streaming: an
    # unfinished tus upload is, until it expires.
    await services.jobs.mark_uploading(upload.upload_id, services.settings.tus_expiry_seconds)


async def _earlier_job(services: Services, owner: str, key: str) -> str | None:
    """The job an upload with this Idempotency-Key already became."""
    if not key:
        return None
    return await services.jobs.job_for_idempotency_key(_idempotency_scope(owner), key)


def _idempotency_scope(owner: str) -> str:
    # One scope for every upload of a key: the PATCH that finishes one has its own path.
    return f"{owner}\0{UPLOADS_PATH}\0"


async def _append(
    request: Request[Any, Any, Any], services: Services, states: TusStates, upload: TusUpload,
    offset: int, checksum: Checksum | None = None,
) -> TusUpload:  # fmt: skip
    """Take a PATCH's body at ``offset`` (one at a time per upload); finish the upload on
    its last byte."""
    size = request.headers.get("content-length", "")
    if size.isdigit() and upload.offset + int(size) > upload.length:
        raise PayloadTooLarge(
            f"Estos datos pasan del tamaño anunciado (Upload-Length {upload.length})."
        )
    token = await states.lock(upload.upload_id, services.settings.tus_lock_seconds)
    if token is None:
        raise UploadBusy(
            "Otra solicitud está enviando datos a esta carga; consulte el desplazamiento con "
            "HEAD e intente de nuevo.",
            uploadOffset=upload.offset,
        )
    try:
        # Read again under the lock: another request may have just moved, finished or
        # terminated the upload after this one first read it.
        current = await states.get(upload.upload_id)
        if current is None:
            raise UploadNotFound("La carga ya no existe: se canceló o expiró.")
        upload = current
        if upload.job_id:
            return upload
        if offset != upload.offset:
            raise UploadOffsetMismatch(
                f"Upload-Offset es {offset} y la carga va en el byte {upload.offset}: "
                "consulte el desplazamiento con HEAD y continúe desde ahí.",
                uploadOffset=upload.offset,
            )
        await _keep_alive(services, upload)
        await services.upload_slots.reserve(1)
        try:
            receiver = _Receiver(services, states, upload, checksum, token)
            upload = await receiver.take(request.stream())
        finally:
            await services.upload_slots.release(1)
        if upload.offset == upload.length:
            upload = await _become_job(services, states, upload, receiver.sha256, token)
    finally:
        await states.unlock(upload.upload_id, token)
    return upload


class _PayloadHashes:
    """The SHA-256 of each upload's stored parts, carried in this process from one PATCH to
    the next, so the last one need not read the whole object back. hashlib cannot save a
    hash's state, so it cannot pass to another replica: a PATCH that finds none here at the
    upload's part boundary (another replica took the last one, or a restart) hashes nothing,
    and the last byte reads the object back once (the cache and Idempotency-Key compare a
    payload by its plain SHA-256, as queue-multipart computes it)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.carried: OrderedDict[str, tuple[int, Any]] = OrderedDict()

    def take(self, upload: TusUpload) -> Any | None:
        """A hash of exactly the upload's stored parts, or None."""
        carried = self.carried.pop(upload.upload_id, None)
        if upload.parts_bytes == 0:
            return hashlib.sha256()
        if carried is not None and carried[0] == upload.parts_bytes:
            return carried[1]
        return None

    def keep(self, upload_id: str, position: int, digest: Any) -> None:
        """Keep a hash of the first ``position`` bytes, stored as parts the state names."""
        self.carried[upload_id] = (position, digest)
        while len(self.carried) > self.size:
            self.carried.popitem(last=False)


_hashes = _PayloadHashes(_CARRIED_HASHES)


class _Receiver:
    """Streams a body into S3 parts; what is left over becomes the upload's tail.

    Without Upload-Checksum each part is saved in the state as it is stored (a cut keeps
    every byte that arrived). With one, nothing is saved until the whole body matches it:
    on a mismatch or a cut the state still names the parts and tail it had, and the parts
    this PATCH stored are not named anywhere (the next PATCH stores the same part numbers
    again, which replaces them; an abort removes them)."""

    def __init__(
        self, services: Services, states: TusStates, upload: TusUpload,
        checksum: Checksum | None, token: str,
    ) -> None:  # fmt: skip
        self.services = services
        self.objects: ObjectStore = services.objects
        self.states = states
        self.upload = upload
        self.checksum = checksum
        #: This request's lock: a save needs it still held (a termination may have taken it).
        self.token = token
        self.verifier = hashlib.new(checksum.algorithm) if checksum else None
        self.saved_offset = upload.offset
        self.had_multipart = bool(upload.s3_upload_id)
        self.key = services.settings.names.payload_key(upload.upload_id)
        self.parts_bytes = upload.parts_bytes
        self.buffer = bytearray()
        self.renewed_at = time.monotonic()
        self.sniffed = False
        #: Set when the body was refused and the upload's bytes discarded: nothing to keep.
        self.discarded = False
        #: The payload's hash over the parts stored so far (None: not known here).
        self.payload_hash = _hashes.take(upload)
        #: Bytes the payload hash covers (the parts stored, in order).
        self.hashed = upload.parts_bytes
        #: Bytes of the payload in parts the saved state names.
        self.saved_parts_bytes = upload.parts_bytes
        #: Tails the saved state no longer names, deleted once it is saved.
        self.stale_tails: list[str] = []
        #: The whole payload's SHA-256 once the last part is stored, if carried throughout.
        self.sha256: str | None = None

    async def take(self, chunks: AsyncIterator[bytes]) -> TusUpload:
        """Store the body; on a cut, keep every byte that arrived (the offset says so),
        unless the body has an Upload-Checksum: then keep none of it."""
        upload = self.upload
        if upload.tail_key:
            self.buffer += await asyncio.to_thread(self.objects.read_bytes, upload.tail_key)
        try:
            async for chunk in chunks:
                if self.parts_bytes + len(self.buffer) + len(chunk) > upload.length:
                    raise PayloadTooLarge(
                        f"Estos datos pasan del tamaño anunciado (Upload-Length {upload.length})."
                    )
                if self.verifier is not None:
                    self.verifier.update(chunk)
                self.buffer += chunk
                await self._sniff()
                while len(self.buffer) >= PART_SIZE:
                    await self._store_part(PART_SIZE)
                await self._renew()
            self._verify()
        except BaseException:
            if self.checksum is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._forget_unsaved())
            elif not self.discarded:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._keep_tail())
            self._keep_hash()
            raise
        if self.parts_bytes + len(self.buffer) == upload.length:
            await self._sniff(final=True)
            await self._complete()
        else:
            await self._keep_tail()
            self._keep_hash()
        return upload

    def _verify(self) -> None:
        if self.checksum is None or self.verifier is None:
            return
        if self.verifier.digest() != self.checksum.digest:
            raise ChecksumMismatch(
                f"El cuerpo no coincide con su Upload-Checksum ({self.checksum.algorithm}): no "
                f"se guardó nada de él. Vuelva a enviarlo desde el byte {self.saved_offset}.",
                uploadOffset=self.saved_offset,
            )

    async def _forget_unsaved(self) -> None:
        """After a checksum's mismatch or a cut: the parts stored are named nowhere; a
        multipart upload this PATCH started is aborted."""
        self.payload_hash = None  # it may have hashed bytes the state does not name
        if not self.had_multipart and self.upload.s3_upload_id and not self.discarded:
            pending = PendingUpload(self.key, self.upload.s3_upload_id, None)
            await asyncio.to_thread(self.objects.abort_upload, pending)

    def _keep_hash(self) -> None:
        if self.payload_hash is not None and self.hashed == self.saved_parts_bytes:
            _hashes.keep(self.upload.upload_id, self.saved_parts_bytes, self.payload_hash)

    async def _sniff(self, final: bool = False) -> None:
        """The first bytes must be able to start a JSON dataset (415 as queue-multipart)."""
        if self.parts_bytes > 0 or self.sniffed:
            return
        if len(self.buffer) < min(HEAD_BYTES, self.upload.length) and not final:
            return
        self.sniffed = True
        try:
            check_head(bytes(self.buffer[:HEAD_BYTES]), "El archivo")
        except ApiError:
            self.discarded = True
            self.payload_hash = None
            self.buffer.clear()
            await self.states.delete(self.upload.upload_id)
            await _discard_bytes(self.services, self.upload)
            raise

    async def _store_part(self, size: int) -> None:
        upload = self.upload
        data = bytes(self.buffer[:size])
        if not upload.s3_upload_id:
            upload.s3_upload_id = await asyncio.to_thread(self.objects.start_upload, self.key)
        number = len(upload.etags) + 1
        store = asyncio.to_thread(self.objects.put_part, self.key, upload.s3_upload_id,
                                  number, data)  # fmt: skip
        if self.payload_hash is None:
            etag = await store
        else:  # hashing while the part goes out (hashlib lets other threads run meanwhile)
            hashing = asyncio.to_thread(self.payload_hash.update, data)
            try:
                etag, _ = await asyncio.gather(store, hashing)
            except BaseException:
                self.payload_hash = None  # it may or may not have taken this part
                raise
            self.hashed += size
        del self.buffer[:size]
        upload.etags.append(etag)
        self.parts_bytes += size
        # The tail's bytes are in this part now: the state names no tail until a new one.
        if upload.tail_key:
            self.stale_tails.append(upload.tail_key)
        upload.tail_key, upload.tail_size, upload.offset = "", 0, self.parts_bytes
        if self.checksum is None:
            await self._save()

    async def _save(self) -> None:
        """Save the state as it stands, then delete the tails it no longer names."""
        upload = self.upload
        upload.expires_at = self.states.next_expiry()
        if not await self.states.put(upload, self.token):
            self.discarded = True  # terminated meanwhile: its bytes are the termination's
            raise UploadNotFound("La carga se canceló mientras llegaban estos datos.")
        self.saved_parts_bytes, self.saved_offset = upload.parts_bytes, upload.offset
        stale, self.stale_tails = self.stale_tails, []
        for key in stale:
            if key != upload.tail_key:
                await asyncio.to_thread(self.objects.delete, key)

    async def _keep_tail(self) -> None:
        """Store the bytes past the last part as the new tail, then name it in the state."""
        upload = self.upload
        end = self.parts_bytes + len(self.buffer)
        # Nothing new to save, unless parts were stored unsaved (with Upload-Checksum).
        unchanged = end == upload.offset == self.saved_offset
        if unchanged and upload.tail_size == len(self.buffer) and not self.stale_tails:
            return
        new_tail = tail_key(upload.upload_id, self.parts_bytes, end) if self.buffer else ""
        if new_tail and new_tail != upload.tail_key:
            await asyncio.to_thread(self.objects.put_bytes, new_tail, bytes(self.buffer))
            if upload.tail_key:
                self.stale_tails.append(upload.tail_key)
        upload.tail_key, upload.tail_size, upload.offset = new_tail, len(self.buffer), end
        await self._save()

    async def _complete(self) -> None:
        """The last part (any size), then the object whole at payloads/{id}."""
        upload = self.upload
        if self.buffer:
            await self._store_part(len(self.buffer))
        await asyncio.to_thread(
            self.objects.finish_upload, self.key, upload.s3_upload_id, upload.etags
        )
        upload.offset = upload.length
        if self.payload_hash is not None and self.hashed == upload.length:
            self.sha256 = self.payload_hash.hexdigest()
        for key in self.stale_tails:  # the state is saved as a job's next
            await asyncio.to_thread(self.objects.delete, key)
        self.stale_tails = []

    async def _renew(self) -> None:
        now = time.monotonic()
        lock_seconds = self.services.settings.tus_lock_seconds
        if now - self.renewed_at >= lock_seconds / _RENEWALS_PER_LOCK:
            self.renewed_at = now
            await self.states.client.expire(
                f"{self.states.prefix}{self.upload.upload_id}:lock", lock_seconds
            )


async def _become_job(
    services: Services, states: TusStates, upload: TusUpload, sha256: str | None, token: str
) -> TusUpload:
    """Queue the finished upload as queue-multipart queues its file: the same checks (again:
    the catalog may have changed), limits, cache and Idempotency-Key. ``sha256``: the
    payload's, if carried across its PATCHes (else read back here)."""
    key = services.settings.names.payload_key(upload.upload_id)
    log.info("tus_upload_hashed", job_id=upload.upload_id, read_back=sha256 is None)
    if sha256 is None:
        sha256 = await asyncio.to_thread(_sha256_of, services.objects, key)
    payload = StoredPayload(key, upload.length, sha256, upload.metadata.get("filename"))
    # Another upload of the key finishing at once is waited for: one job between them (its
    # 409, past the wait, comes before anything of this upload is deleted).
    held = None
    if upload.idempotency_key:
        scope = _idempotency_scope(upload.owner)
        held = await idempotency.claim_key(services, scope, upload.idempotency_key)
    try:
        submission = await _check_metadata(services, upload.metadata, upload.owner)
        if isinstance(held, JobRecord):
            idempotency.check_same(held, submission, payload)
            await asyncio.to_thread(services.objects.delete, key)
            upload.job_id = held.job_id
        else:
            record = await services.submitter.enqueue(upload.upload_id, submission, payload)
            upload.job_id = record.job_id
    except BaseException:
        if isinstance(held, idempotency.KeyClaim):
            await held.release()
        await states.delete(upload.upload_id)
        await services.submitter.discard(upload.upload_id, key)
        raise
    if isinstance(held, idempotency.KeyClaim):
        await held.settle(upload.job_id)
    # Kept as long as an unfinished upload's tombstone would be: a client that lost the 204
    # asks HEAD for the job (never told 410 "start again", which would make a second job).
    upload.expires_at = states.next_expiry() + timedelta(seconds=GONE_SECONDS)
    await states.put(upload, token)  # not if terminated meanwhile (the job stays)
    await services.jobs.client.delete(services.jobs.names.uploading(upload.upload_id))
    log.info("tus_upload_queued", job_id=upload.job_id, bytes=upload.length)
    return upload


def _sha256_of(objects: ObjectStore, key: str) -> str:
    """The SHA-256 of a stored object, read back once (when no hash was carried here)."""
    digest = hashlib.sha256()
    with objects.open(key) as reader:
        for chunk in reader.iter_chunks(1 * MIB):
            digest.update(chunk)
    return digest.hexdigest()


async def _forget(services: Services, states: TusStates, upload: TusUpload) -> None:
    """Delete an unfinished upload and every byte it stored."""
    current = await states.get(upload.upload_id)
    await states.delete(upload.upload_id)
    await _discard_bytes(services, current or upload)


async def _discard_bytes(services: Services, upload: TusUpload) -> None:
    """Abort the upload's multipart upload and delete its tails."""
    key = services.settings.names.payload_key(upload.upload_id)
    if upload.s3_upload_id:
        pending = PendingUpload(key, upload.s3_upload_id, None)
        await asyncio.to_thread(services.objects.abort_upload, pending)
    await asyncio.to_thread(services.objects.delete_prefix, upload_prefix(upload.upload_id))
    await services.jobs.client.delete(services.jobs.names.uploading(upload.upload_id))
