"""Domain errors of the api and their one mapping to HTTP (RFC 9457 problem details)."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from reports_shared.errors import (
    BrokerUnavailable,
    InvalidInput,
    InvalidPayload,
    JobStoreUnavailable,
    ObjectNotFound,
    ReportsError,
    StorageUnavailable,
    UnknownReportType,
)

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


class ApiError(ReportsError):
    """An error the client can read: status, short title and a message saying what is wrong."""

    status = 400
    title = "Solicitud inválida"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidRequest(ApiError):
    """A field is missing, empty or malformed."""


class Unauthorized(ApiError):
    """No key, or a key that is not one of ours."""

    status = 401
    title = "No autorizado"


class Forbidden(ApiError):
    """A client key on an operator's endpoint."""

    status = 403
    title = "Prohibido"


class TooManyRequests(ApiError):
    """The client submitted more than its share this minute."""

    status = 429
    title = "Demasiadas solicitudes"


class PayloadTooLarge(ApiError):
    """The body or the dataset is over its limit."""

    status = 413
    title = "Datos demasiado grandes"


class UnsupportedMediaType(ApiError):
    """The request's Content-Type is not the one the endpoint takes."""

    status = 415
    title = "Tipo de contenido no admitido"


class JobNotFound(ApiError):
    """No job (or download) with that id or token."""

    status = 404
    title = "No encontrado"


class JobGone(ApiError):
    """The job existed but its results expired."""

    status = 410
    title = "Expirado"


class JobFinished(ApiError):
    """The job already ended (Completed, Failed): there is nothing left to cancel."""

    status = 409
    title = "El trabajo ya terminó"


class RangeNotSatisfiable(ApiError):
    """The requested byte range lies outside the file."""

    status = 416
    title = "Rango no satisfacible"


class ReportFailed(ApiError):
    """The synchronous report could not be built."""

    status = 422
    title = "No se pudo generar el reporte"


class IdempotencyKeyReused(ApiError):
    """An Idempotency-Key sent again with another payload (IETF Idempotency-Key draft)."""

    status = 422
    title = "Idempotency-Key reutilizada"


class IdempotencyKeyInUse(ApiError):
    """Another request with this Idempotency-Key is still in progress (IETF draft: 409)."""

    status = 409
    title = "Idempotency-Key en uso"


class Busy(ApiError):
    """Too much work in flight: come back shortly."""

    status = 503
    title = "Servicio ocupado"


#: Titles of the shared input errors (the worker raises them too), answered as 400.
_INPUT_TITLES: dict[type[InvalidInput], str] = {
    UnknownReportType: "Tipo de reporte desconocido",
    InvalidPayload: "Datos JSON inválidos",
}

_UNAVAILABLE = {
    StorageUnavailable: "El almacenamiento de archivos no está disponible",
    JobStoreUnavailable: "El registro de trabajos (Redis) no está disponible",
    BrokerUnavailable: "La cola de mensajes (RabbitMQ) no está disponible",
}


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    """A problem-details response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def handle_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    """Our own errors, as they are."""
    headers = None
    if exc.status in {429, 503} or "retryAfter" in exc.extra:
        headers = {"Retry-After": str(exc.extra.get("retryAfter", 5))}
    return problem(exc.status, exc.title, exc.detail, headers, **exc.extra)


def handle_invalid_input(request: Request[Any, Any, Any], exc: InvalidInput) -> Response[Any]:
    """What the user sent cannot be used: 400, with the valid report types when it is those."""
    title = next((t for kind, t in _INPUT_TITLES.items() if isinstance(exc, kind)), ApiError.title)
    extra: dict[str, Any] = {}
    if isinstance(exc, UnknownReportType):
        extra["validReportTypes"] = exc.valid
    return problem(400, title, exc.message, **extra)


def handle_unavailable(request: Request[Any, Any, Any], exc: ReportsError) -> Response[Any]:
    """A dependency is down: 503 with Retry-After, never 500."""
    detail = _UNAVAILABLE.get(type(exc), "Un servicio interno no está disponible")
    log.warning("dependency_unavailable", error=type(exc).__name__, path=request.url.path)
    return problem(
        503,
        "Servicio no disponible",
        f"{detail}; intente de nuevo en unos segundos.",
        {"Retry-After": "10"},
    )


def handle_missing_object(request: Request[Any, Any, Any], exc: ObjectNotFound) -> Response[Any]:
    """A file that should be in storage is not (removed meanwhile): 404, not 500."""
    log.warning("object_missing", path=request.url.path, error=str(exc))
    return problem(404, "No encontrado", "El archivo solicitado ya no existe.")


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Framework errors (404 route, 405, validation) in the same shape."""
    detail = exc.detail or "Error"
    extra: dict[str, Any] = {}
    if exc.extra:
        extra["errors"] = exc.extra
    return problem(exc.status_code, detail, detail, exc.headers, **extra)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A bug: log it with its traceback; the client gets a clean 500."""
    log.exception("unhandled_error", path=request.url.path)
    return problem(500, "Error interno", "Error interno del servidor.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ApiError: handle_api_error,
    InvalidInput: handle_invalid_input,
    StorageUnavailable: handle_unavailable,
    JobStoreUnavailable: handle_unavailable,
    BrokerUnavailable: handle_unavailable,
    ObjectNotFound: handle_missing_object,
    HTTPException: handle_http,
    Exception: handle_unexpected,
}

__all__ = ["EXCEPTION_HANDLERS", "MediaType"]
