"""The API docs: Swagger UI served by the api, and what they say of each operation.

The docs page loads Swagger UI from the swagger-ui-bundle-v2 package, served under
``/schema/assets``, so it works without internet.

Kept apart from the controllers so that they stay readable: ``document`` writes it into the
OpenAPI document Litestar builds from them, and a unit test fails if an operation lacks any
of it. The docs speak Spanish, as the rest of the product. Response examples are built from
the api's own answer types, so an example cannot drift from what the api sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import swagger_ui_bundle  # type: ignore[import-untyped]  # ships no py.typed
from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    Schema,
    SecurityScheme,
    Tag,
)
from litestar.static_files import create_static_files_router

from reports_shared.cache import CacheStats
from reports_shared.constants import API_PREFIX, SYNC_ROUTE, JobStatus, download_url, status_url
from reports_shared.jobs import PerformanceMetrics, WebhookAttempt

from .errors import PROBLEM_JSON
from .intake.report_types import ReportTypeView
from .jobs.views import (
    Accepted,
    ActiveJobs,
    GoneJobView,
    JobHistory,
    JobStatusView,
    MissingJobView,
    Progress,
)
from .jobs.webhooks import WebhookSecret, WebhookView

DESCRIPTION = """\
Convierte grandes conjuntos de datos JSON en reportes descargables (ZIP con el libro Excel
y `errores.csv`), de forma asíncrona: se envía el conjunto (`queue-multipart` o
`queue-json`), se sigue el trabajo (`status`, o `events` como Server-Sent Events) y se
descarga el ZIP por el enlace firmado de `downloadUrl`.

**Acceso.** Con claves configuradas (`AR_API_KEYS`), cada solicitud bajo `/api` lleva la
clave en el encabezado `X-API-Key` (o `Authorization: Bearer <clave>`); un cliente ve solo
sus trabajos, un operador todos. Sin claves configuradas, el api es abierto.

**Errores.** Todo error se responde como *problem details* (RFC 9457,
`application/problem+json`: `type`, `title`, `status`, `detail` y, según el caso, campos
como `errors` o `validReportTypes`). La única excepción, deliberada: `GET /status` responde
404 y 410 con la forma del sistema original (`status: Failed` y `message`, además de
`title` y `detail`), para que sus clientes, que consultan hasta Completed o Failed, se
detengan.
"""

TAGS = [
    Tag(name="AsyncReports", description="Envío, seguimiento, cancelación y descarga de trabajos."),
    Tag(
        name="Reports",
        description="El endpoint síncrono del sistema original (conjuntos pequeños).",
    ),
    Tag(name="Health", description="Sondas de vida y disponibilidad, sin clave."),
]

#: Where the OpenAPI document and its docs page are served.
SCHEMA_PATH = "/schema"
#: Swagger UI's files, from the package; the page refers to them here.
ASSETS_PATH = f"{SCHEMA_PATH}/assets"
#: An installed package is a plain directory (the wheel is not zip-imported).
SWAGGER_UI_DIR = Path(str(swagger_ui_bundle.swagger_ui_path))

API_KEY_HEADER = "X-API-Key"
COMPONENTS = Components(
    security_schemes={
        "ApiKey": SecurityScheme(
            type="apiKey",
            name=API_KEY_HEADER,
            security_scheme_in="header",
            description="La clave de API (AR_API_KEYS del despliegue).",
        ),
        "Bearer": SecurityScheme(
            type="http",
            scheme="bearer",
            description="La misma clave, como `Authorization: Bearer <clave>`.",
        ),
    }
)
#: Either scheme; ``{}`` because a deployment without keys is open (and says so at start-up).
SECURITY: list[dict[str, list[str]]] = [{"ApiKey": []}, {"Bearer": []}, {}]

_JOB_ID = "3f2b8c1e-9a4d-4e0f-8b7a-2c5d6e7f8a90"
_TOKEN = "eyJqIjoiM2YyYjhjMWUifQ.Yk1x2v9Qw3L5r7T0pZ8sA4nB6cD1eF"  # noqa: S105 - made up
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 - made up
_AT = datetime(2026, 3, 2, 14, 30, 5, tzinfo=UTC)
_LATER = datetime(2026, 3, 2, 14, 31, 47, tzinfo=UTC)
_EXPIRES = datetime(2026, 3, 3, 14, 31, 47, tzinfo=UTC)

#: A record of the FacturacionMasiva contract (docs/integrators/api.md).
INVOICE: dict[str, Any] = {
    "invoiceNumber": "F001-00012345",
    "issueDate": "2024-01-15",
    "currency": "PEN",
    "customer": {"taxId": "20123456789", "name": "Comercial Andina S.A.C."},
    "items": [
        {
            "sku": "P-100",
            "description": "Papel bond A4",
            "quantity": 3,
            "unitPrice": 12.5,
            "taxRate": 0.18,
            "discount": 0,
        }
    ],
}

_QUEUED = Accepted(
    job_id=_JOB_ID,
    status=JobStatus.QUEUED,
    message="Trabajo en cola",
    created_at=_AT,
    status_url=status_url(_JOB_ID),
)
_PROGRESS = Progress(records_processed=0, bytes_processed=0, total_bytes=48213, percent=0.0)
_RUNNING = JobStatusView(
    job_id=_JOB_ID,
    status=JobStatus.PROCESSING,
    message="Procesando",
    created_at=_AT,
    completed_at=None,
    file_name=None,
    file_size_bytes=None,
    download_url=None,
    performance_metrics=None,
    report_type="FacturacionMasiva",
    user_name="ana.torres",
    progress=Progress(
        records_processed=12000, bytes_processed=28927, total_bytes=48213, percent=60.0
    ),
    started_at=_AT,
    estimated_seconds_left=14.5,
)
_DONE = JobStatusView(
    job_id=_JOB_ID,
    status=JobStatus.COMPLETED,
    message="Reporte listo",
    created_at=_AT,
    completed_at=_LATER,
    file_name="FacturacionMasiva_20260302.zip",
    file_size_bytes=1843321,
    download_url=download_url(_TOKEN),
    performance_metrics=PerformanceMetrics(
        processing_time_ms=98000,
        memory_usage_mb=142.5,
        records_processed=20000,
        queue_wait_ms=1200,
        input_bytes=48213,
        records_per_second=204.1,
    ),
    report_type="FacturacionMasiva",
    user_name="ana.torres",
    progress=Progress(
        records_processed=20000, bytes_processed=48213, total_bytes=48213, percent=100.0
    ),
    records_rejected=20,
    started_at=_AT,
    expires_at=_EXPIRES,
    outcome=JobStatus.COMPLETED,
)
_WAITING = msgspec.structs.replace(
    _RUNNING,
    status=JobStatus.QUEUED,
    message="Trabajo en cola",
    progress=_PROGRESS,
    started_at=None,
    queue_position=2,
    estimated_seconds_left=41.0,
    estimated_start_in=17.0,
)
_CANCELLED = msgspec.structs.replace(
    _WAITING,
    status=JobStatus.FAILED,
    message="Cancelado a pedido del usuario.",
    completed_at=_LATER,
    queue_position=None,
    expires_at=_EXPIRES,
    outcome=JobStatus.CANCELLED,
    estimated_seconds_left=None,
    estimated_start_in=None,
)
_MISSING = MissingJobView(
    job_id=_JOB_ID,
    message=f"No existe un trabajo con id '{_JOB_ID}'.",
    title="No encontrado",
    detail=f"No existe un trabajo con id '{_JOB_ID}'.",
)
_GONE = GoneJobView(
    **{
        f: getattr(_DONE, f)
        for f in _DONE.__struct_fields__
        if f not in {"status", "outcome", "download_url"}
    },
    status=JobStatus.FAILED,
    outcome=JobStatus.EXPIRED,
    download_url=None,
    title="Expirado",
    detail="El trabajo y su reporte expiraron y fueron eliminados.",
)


def _value(example: object) -> Any:
    """An answer as JSON values (camelCase, ISO dates), as the api encodes it."""
    return msgspec.to_builtins(example)


def _sse() -> str:
    data = msgspec.json.encode(_RUNNING).decode()
    done = msgspec.json.encode(_DONE).decode()
    return (
        f"retry: 3000\nevent: status\ndata: {data}\n\n"
        ": keep-alive\n\n"
        f"retry: 3000\nevent: status\ndata: {done}\n\n"
    )


@dataclass
class RawExample(Example):
    """An example whose value is written as it is: Litestar drops the nulls of a plain
    Example's value, which would leave out fields the schema requires (``completedAt``)."""

    def to_schema(self) -> dict[str, Any]:
        """The example, its value untouched."""
        return {**super().to_schema(), "value": self.value}


@dataclass(frozen=True, slots=True)
class Doc:
    """What the docs say of one operation."""

    summary: str
    description: str
    #: Example of the request body (every media type it takes), by name.
    request: dict[str, Any] | None = None
    #: Examples of each success response, by status, then by name.
    responses: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: The response headers each status sends (names in HEADERS).
    headers: dict[int, tuple[str, ...]] = field(default_factory=dict)
    #: Whether the operation takes the API key.
    secured: bool = True
    #: A description of each success response, by status.
    described: dict[int, str] = field(default_factory=dict)


def _header(description: str, example: str, *, integer: bool = False) -> OpenAPIHeader:
    kind = OpenAPIType.INTEGER if integer else OpenAPIType.STRING
    value: Any = int(example) if integer else example
    return OpenAPIHeader(schema=Schema(type=kind), description=description, example=value)


HEADERS = {
    "Location": _header("Dónde consultar el trabajo (GET /status).", status_url(_JOB_ID)),
    "Retry-After": _header(
        "Segundos que conviene esperar antes de volver a consultar.", "5", integer=True
    ),
    "Content-Disposition": _header(
        "El nombre del archivo ZIP.",
        'attachment; filename="FacturacionMasiva_20260302.zip"',
    ),
    "Accept-Ranges": _header("Admite descargas por partes (Range).", "bytes"),
    "ETag": _header("Versión del archivo, para If-Range.", '"5f1c2a9e"'),
    "Content-Range": _header("La parte enviada y el tamaño total.", "bytes 0-1048575/1843321"),
    "Location@upload": _header(
        "Dónde seguir la subida (HEAD, PATCH, DELETE).", f"{API_PREFIX}/uploads/{_JOB_ID}"
    ),
    "Upload-Offset": _header(
        "Cuántos bytes de la subida recibió el servicio.", "5242880", integer=True
    ),
    "Upload-Length": _header("Tamaño total de la subida en bytes.", "48213", integer=True),
    "Upload-Expires": _header(
        "Hasta cuándo se puede seguir la subida sin terminar.", "Tue, 03 Mar 2026 14:31:47 GMT"
    ),
    "Upload-Job-Url": _header(
        "Al recibir el último byte: dónde consultar el trabajo (GET /status).", status_url(_JOB_ID)
    ),
    "Tus-Version": _header("Versiones del protocolo tus que admite el servicio.", "1.0.0"),
    "Tus-Extension": _header(
        "Extensiones de tus que admite el servicio.",
        "creation,creation-with-upload,termination,expiration,checksum",
    ),
    "Tus-Max-Size": _header("Tamaño máximo de una subida en bytes.", "524288000", integer=True),
    "Tus-Checksum-Algorithm": _header(
        "Algoritmos que admite Upload-Checksum (extensión checksum).", "sha1,md5,sha256"
    ),
}

#: Descriptions of parameters Litestar documents without one, by name.
PARAMETERS = {
    "job_id": ("El id del trabajo (jobId de la respuesta 202).", _JOB_ID),
    "upload_id": ("El id de la subida (el final de su Location; será el id del trabajo).", _JOB_ID),
    "token": ("El token del enlace de descarga (downloadUrl de GET /status).", _TOKEN),
    "Range": ("Una parte del archivo, para reanudar una descarga.", "bytes=0-1048575"),
    "If-Range": ("El ETag recibido: la parte solo si el archivo no cambió.", '"5f1c2a9e"'),
    "userName": ("Solo los de este usuario.", "ana.torres"),
}

_JSON_BODY = {
    "reportType": "FacturacionMasiva",
    "userName": "ana.torres",
    "jsonData": [INVOICE],
    "isLargeDataset": False,
    "options": {"csvDialect": "excel-es"},
}
_SUBMISSION_HEADERS: dict[int, tuple[str, ...]] = {202: ("Location", "Retry-After")}
_ZIP = "application/zip"


def _tus_options(summary: str, description: str) -> Doc:
    """An OPTIONS of tus: the service's capabilities, in the same headers on every path."""
    return Doc(
        summary=summary,
        description=description,
        headers={204: ("Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm")},
        described={204: "Lo que admite el servicio"},
    )


DOCS: dict[tuple[str, str], Doc] = {
    ("POST", f"{API_PREFIX}/queue-multipart"): Doc(
        summary="Encolar un archivo JSON (multipart/form-data)",
        description=(
            "Envía el conjunto de datos como archivo (`dataFile`: arreglo JSON, objeto con un "
            "arreglo o NDJSON, opcionalmente gzip) con los campos del sistema original; todo "
            "otro campo es una opción del tipo de reporte (`csvDialect`, ver GET "
            "/report-types). Responde 202 al instante con el trabajo a seguir: `Location` dice "
            "dónde y `Retry-After` cuándo. Repetir el envío con la misma `Idempotency-Key` "
            "devuelve el mismo trabajo."
        ),
        request={
            "factura": {
                "reportType": "FacturacionMasiva",
                "userName": "ana.torres",
                "isLargeDataset": "false",
                "csvDialect": "excel-es",
                "dataFile": msgspec.json.encode([INVOICE]).decode(),
            }
        },
        responses={202: {"encolado": _value(_QUEUED)}},
        headers=_SUBMISSION_HEADERS,
        described={202: "Aceptado: el trabajo está en cola"},
    ),
    ("POST", f"{API_PREFIX}/queue-json"): Doc(
        summary="Encolar datos JSON en el cuerpo",
        description=(
            "Envía el conjunto de datos dentro del cuerpo JSON (`jsonData`: los registros, o "
            "su texto JSON como en el sistema original); `options` lleva las opciones del "
            "tipo de reporte y `callbackUrl` un webhook firmado que avisa al terminar. Responde "
            "202 al instante con `Location` y `Retry-After`; la misma `Idempotency-Key` con "
            "los mismos datos devuelve el mismo trabajo."
        ),
        request={
            "factura": {**_JSON_BODY, "callbackUrl": "https://erp.example.com/hooks/reportes"}
        },
        responses={202: {"encolado": _value(_QUEUED)}},
        headers=_SUBMISSION_HEADERS,
        described={202: "Aceptado: el trabajo está en cola"},
    ),
    ("POST", SYNC_ROUTE): Doc(
        summary="Generar un reporte pequeño y recibirlo en la respuesta",
        description=(
            "El endpoint síncrono del sistema original: el mismo cuerpo que queue-json (hasta "
            "AR_SYNC_MAX_RECORDS registros; más es un 413) y el ZIP en la respuesta. Si el "
            "reporte tarda más que AR_SYNC_TIMEOUT_SECONDS, responde 202 con el trabajo a "
            "seguir, como queue-json."
        ),
        request={"factura": _JSON_BODY},
        responses={
            202: {
                "tarda": _value(
                    msgspec.structs.replace(
                        _QUEUED, message="El reporte tarda más de lo esperado; siga el trabajo."
                    )
                )
            }
        },
        headers={200: ("Content-Disposition",), **_SUBMISSION_HEADERS},
        described={
            200: "El ZIP del reporte (libro Excel y errores.csv)",
            202: "Tarda más de lo esperado: siga el trabajo",
        },
    ),
    ("OPTIONS", f"{API_PREFIX}/uploads"): _tus_options(
        "Capacidades tus del servicio",
        "Subidas reanudables con el protocolo tus 1.0: responde la versión, las extensiones "
        "y el tamaño máximo admitidos, como pide tus. No necesita clave.",
    ),
    ("OPTIONS", f"{API_PREFIX}/uploads/{{upload_id}}"): _tus_options(
        "Capacidades tus del servicio (sobre una subida)",
        "Lo mismo que OPTIONS /uploads, sobre la dirección de una subida.",
    ),
    ("POST", f"{API_PREFIX}/uploads"): Doc(
        summary="Crear una subida reanudable (tus)",
        description=(
            "Crea una subida tus de `Upload-Length` bytes. `Upload-Metadata` lleva los campos "
            "del formulario de queue-multipart (reportType, userName, isLargeDataset, "
            "callbackUrl y las opciones del tipo), que se revisan aquí, antes de recibir un "
            "solo byte. `Location` dice adónde enviar los datos con PATCH. Con cuerpo "
            "(creation-with-upload), esos bytes ya quedan guardados."
        ),
        headers={201: ("Location@upload", "Upload-Offset", "Upload-Expires")},
        described={201: "Subida creada: Location dice dónde seguirla"},
    ),
    ("HEAD", f"{API_PREFIX}/uploads/{{upload_id}}"): Doc(
        summary="Cuánto llegó de una subida",
        description=(
            "`Upload-Offset` dice cuántos bytes guardó el servicio: una subida cortada sigue "
            "desde ahí con PATCH. Al terminar, `Upload-Job-Url` dice dónde está el trabajo. "
            "Una subida que expiró responde 410 (durante 7 días; después, 404): lo recibido se "
            "descartó y hay que empezar una subida nueva."
        ),
        headers={200: ("Upload-Offset", "Upload-Length", "Upload-Expires")},
        described={200: "Lo recibido hasta ahora"},
    ),
    ("PATCH", f"{API_PREFIX}/uploads/{{upload_id}}"): Doc(
        summary="Enviar más bytes de una subida",
        description=(
            "Agrega los bytes del cuerpo (`application/offset+octet-stream`) desde "
            "`Upload-Offset`, que debe ser lo ya recibido (si no, 409). Con el último byte la "
            "subida se vuelve un trabajo, con las mismas revisiones, límites y caché que "
            "queue-multipart, y `Upload-Job-Url` dice dónde consultarlo. Con "
            "`Upload-Checksum` (sha1, md5 o sha256 del cuerpo, en base64) el servicio lo "
            "comprueba: si no coincide responde 460 y no guarda nada de este PATCH."
        ),
        request={"datos": msgspec.json.encode([INVOICE]).decode()},
        headers={204: ("Upload-Offset", "Upload-Expires", "Upload-Job-Url")},
        described={204: "Bytes guardados (y, si era el último, el trabajo creado)"},
    ),
    ("DELETE", f"{API_PREFIX}/uploads/{{upload_id}}"): Doc(
        summary="Abandonar una subida",
        description=(
            "Termina una subida sin completar (extensión termination): borra lo recibido "
            "y no queda nada guardado."
        ),
        described={204: "Subida abandonada"},
    ),
    ("GET", f"{API_PREFIX}/report-types"): Doc(
        summary="Tipos de reporte",
        description=(
            "Los tipos de reporte que construyen los workers en marcha, con su nombre para "
            "personas y las opciones que admite cada uno (el valor predeterminado primero)."
        ),
        responses={
            200: {
                "tipos": _value(
                    [
                        ReportTypeView(
                            name="FacturacionMasiva",
                            description="Facturas con sus ítems, totales por moneda.",
                            display_name="Facturación masiva",
                            options={"csvDialect": ["rfc4180", "excel-es"]},
                        )
                    ]
                )
            }
        },
        described={200: "Los tipos de reporte"},
    ),
    ("GET", f"{API_PREFIX}/status/{{job_id}}"): Doc(
        summary="Estado de un trabajo",
        description=(
            "El trabajo con los campos del sistema original (`status`: Queued, Processing, "
            "Completed o Failed) y más: progreso, posición en la cola, estimaciones, "
            "registros rechazados, error, vencimiento y `outcome` (cómo terminó). Mientras "
            "sigue activo, `Retry-After` dice cuándo volver a consultar. 404 y 410 responden "
            "con la forma del sistema original (la única excepción a problem details)."
        ),
        responses={
            200: {
                "en-cola": _value(_WAITING),
                "procesando": _value(_RUNNING),
                "completado": _value(_DONE),
            }
        },
        headers={200: ("Retry-After",)},
        described={200: "El trabajo (Retry-After solo mientras está activo)"},
    ),
    ("GET", f"{API_PREFIX}/events/{{job_id}}"): Doc(
        summary="Cambios de estado de un trabajo (Server-Sent Events)",
        description=(
            "Un flujo `text/event-stream`: eventos `status` con el mismo JSON que GET /status, "
            "uno al conectarse y otro por cada cambio, hasta un estado final; un comentario "
            "`keep-alive` cada 15 s sin cambios. En un navegador: `new EventSource(url)` y "
            '`addEventListener("status", ...)`.'
        ),
        responses={200: {"flujo": _sse()}},
        described={200: "El flujo de eventos status"},
    ),
    ("GET", f"{API_PREFIX}/download/{{token}}"): Doc(
        summary="Descargar el ZIP de un trabajo",
        description=(
            "El ZIP de un trabajo completado, por el enlace firmado de `downloadUrl`; admite "
            "`Range` e `If-Range` para reanudar. Un enlace desconocido, ajeno o de un trabajo "
            "sin terminar responde 404; uno vencido, 410."
        ),
        headers={
            200: ("Content-Disposition", "Accept-Ranges", "ETag"),
            206: ("Content-Disposition", "Accept-Ranges", "ETag", "Content-Range"),
        },
        described={200: "El ZIP completo", 206: "Una parte del ZIP (Range)"},
    ),
    ("HEAD", f"{API_PREFIX}/download/{{token}}"): Doc(
        summary="Cabeceras de la descarga",
        description="Lo mismo que GET /download, sin el cuerpo: tamaño, nombre y ETag.",
        headers={
            200: ("Content-Disposition", "Accept-Ranges", "ETag"),
            206: ("Content-Disposition", "Accept-Ranges", "ETag", "Content-Range"),
        },
        described={200: "Las cabeceras del ZIP", 206: "Las cabeceras de una parte (Range)"},
    ),
    ("DELETE", f"{API_PREFIX}/jobs/{{job_id}}"): Doc(
        summary="Cancelar un trabajo",
        description=(
            "Cancela un trabajo en cola o en proceso y responde cómo queda (Failed con outcome "
            "Cancelled); cancelar uno ya cancelado responde lo mismo, uno ya terminado es un "
            "409. El trabajo sigue en el historial hasta que vence."
        ),
        responses={200: {"cancelado": _value(_CANCELLED)}},
        described={200: "El trabajo, cancelado"},
    ),
    ("POST", f"{API_PREFIX}/cancel/{{job_id}}"): Doc(
        summary="Cancelar un trabajo (POST)",
        description=(
            "Lo mismo que DELETE /jobs/{jobId}, para clientes que no pueden enviar DELETE."
        ),
        responses={200: {"cancelado": _value(_CANCELLED)}},
        described={200: "El trabajo, cancelado"},
    ),
    ("GET", f"{API_PREFIX}/active-jobs"): Doc(
        summary="Trabajos activos",
        description=(
            "Los trabajos en cola o en proceso, del más antiguo al más nuevo, con su posición "
            "en la cola; un cliente ve solo los suyos, un operador todos."
        ),
        responses={200: {"activos": _value(ActiveJobs(count=2, jobs=[_RUNNING, _WAITING]))}},
        described={200: "Los trabajos activos"},
    ),
    ("GET", f"{API_PREFIX}/jobs"): Doc(
        summary="Historial de trabajos",
        description=(
            "Los trabajos dentro del período de retención, del más nuevo al más antiguo, "
            "filtrados y por páginas: `nextCursor` lleva a la siguiente. Una página puede "
            "traer menos de `limit` (incluso ninguno) con `nextCursor` presente."
        ),
        responses={200: {"pagina": _value(JobHistory(jobs=[_DONE], count=1, next_cursor=None))}},
        described={200: "Una página del historial"},
    ),
    ("GET", f"{API_PREFIX}/jobs/{{job_id}}/webhook"): Doc(
        summary="Webhook de un trabajo",
        description=(
            "A dónde va el aviso de fin del trabajo, si se entregó, cada intento (cuándo, "
            "cuánto tardó, qué respondió el receptor) y cuándo toca el siguiente."
        ),
        responses={
            200: {
                "entregado": _value(
                    WebhookView(
                        job_id=_JOB_ID,
                        callback_url="https://erp.example.com/hooks/reportes",
                        state="delivered",
                        event="report.completed",
                        attempts=[
                            WebhookAttempt(attempt=1, at=_LATER, duration_ms=184, status_code=200)
                        ],
                        next_attempt_at=None,
                    )
                )
            }
        },
        described={200: "El webhook y sus intentos"},
    ),
    ("GET", f"{API_PREFIX}/webhook-secret"): Doc(
        summary="Secreto de firma de los webhooks",
        description=(
            "El secreto `whsec_` con que se firman los avisos de los trabajos de quien "
            "consulta (cada clave de API el suyo), para verificarlos con cualquier biblioteca "
            "de Standard Webhooks."
        ),
        responses={200: {"secreto": _value(WebhookSecret(secret=_SECRET))}},
        described={200: "El secreto"},
    ),
    ("GET", f"{API_PREFIX}/cache-stats"): Doc(
        summary="Estadísticas de la caché de reportes",
        description="Cifras de la caché temporal de reportes (solo operadores).",
        responses={
            200: {
                "cache": _value(
                    CacheStats(
                        enabled=True,
                        entries=12,
                        total_bytes=20971520,
                        cap_bytes=1073741824,
                        hits=30,
                        misses=12,
                        hit_ratio=0.714,
                        evictions=0,
                        expirations=3,
                        oldest_entry=_AT,
                        newest_entry=_LATER,
                        ttl_seconds=86400,
                    )
                )
            }
        },
        described={200: "Las cifras de la caché"},
    ),
    ("GET", "/health"): Doc(
        summary="Vida",
        description="Responde mientras el proceso está en marcha (sonda de vida).",
        responses={200: {"vivo": {"status": "ok"}}},
        secured=False,
        described={200: "El proceso responde"},
    ),
    ("GET", "/ready"): Doc(
        summary="Disponibilidad",
        description=(
            "200 cuando Redis, RabbitMQ y el almacenamiento responden; 503 (con Retry-After) "
            "nombrando los que no (sonda de disponibilidad: su cuerpo no es un error de la "
            "solicitud sino el estado de cada dependencia)."
        ),
        responses={
            200: {
                "listo": {
                    "status": "ready",
                    "checks": {"redis": "ok", "rabbitmq": "ok", "storage": "ok"},
                }
            }
        },
        secured=False,
        described={200: "Todas las dependencias responden"},
    ),
}

#: A problem of each status, as the api answers it (errors.py).
_PROBLEMS = {
    400: ("Solicitud inválida", "Falta el campo 'userName'."),
    401: ("No autorizado", "Falta la clave de API (encabezado X-API-Key)."),
    403: ("Prohibido", "Solo un operador puede consultar este recurso."),
    404: ("No encontrado", f"No existe un trabajo con id '{_JOB_ID}'."),
    409: ("El trabajo ya terminó", f"El trabajo '{_JOB_ID}' ya terminó (Completed)."),
    410: ("Expirado", "El trabajo y su reporte expiraron y fueron eliminados."),
    412: ("Versión de tus no admitida", "Envíe el encabezado Tus-Resumable: 1.0.0."),
    413: ("Datos demasiado grandes", "El archivo supera el máximo permitido de 524 MB."),
    415: ("Tipo de contenido no admitido", "Envíe multipart/form-data."),
    416: ("Rango no satisfacible", "El rango pedido está fuera del archivo."),
    422: ("No se pudo generar el reporte", "Ningún registro es válido."),
    429: ("Demasiadas solicitudes", "Demasiados envíos este minuto; espere unos segundos."),
    503: (
        "Servicio no disponible",
        "La cola de mensajes (RabbitMQ) no está disponible; intente de nuevo en unos segundos.",
    ),
}
_RETRYING = {429, 503}
#: The one deliberate exception to problem details: the seed's shape (see jobs/status.py).
SEED_SHAPED = {
    (f"{API_PREFIX}/status/{{job_id}}", "404"),
    (f"{API_PREFIX}/status/{{job_id}}", "410"),
}
_SEED_EXAMPLES = {"404": _value(_MISSING), "410": _value(_GONE)}
#: What each answer type is, in the docs' language (Litestar takes the docstrings otherwise).
SCHEMAS = {
    "Accepted": "Respuesta a un envío (202): el trabajo y dónde consultarlo.",
    "ActiveJobs": "Los trabajos en cola o en proceso.",
    "CacheStats": "Cifras de la caché temporal de reportes.",
    "GoneJobView": "Un trabajo vencido (410), con la forma del sistema original.",
    "JobHistory": "Una página del historial, del más nuevo al más antiguo.",
    "JobStatus": (
        "Estado: los cuatro del sistema original (Queued, Processing, Completed, Failed) y "
        "los finales Cancelled y Expired (en `outcome`; `status` los muestra como Failed)."
    ),
    "JobStatusView": "Un trabajo, como lo muestra GET /status.",
    "MissingJobView": "Un trabajo que no existe (404), con la forma del sistema original.",
    "Outcome": "Cómo terminó un trabajo.",
    "PerformanceMetrics": "Cifras que midió el worker para el trabajo.",
    "Problem": "Problem details (RFC 9457): la forma de todo error.",
    "Progress": "Cuánto avanzó el trabajo.",
    "ReportTypeView": "Un tipo de reporte, con su nombre para personas y sus opciones.",
    "WebhookAttempt": "Un intento de entrega del webhook.",
    "WebhookSecret": "El secreto que firma los webhooks de quien consulta.",
    "WebhookView": "El webhook de un trabajo y sus intentos.",
}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def operations(openapi: OpenAPI) -> list[tuple[str, str, Operation]]:
    """Every operation of the document, as (method, path, operation)."""
    found = []
    for path, item in (openapi.paths or {}).items():
        assert isinstance(item, PathItem)
        for method in _METHODS:
            operation = getattr(item, method)
            if operation is not None:
                found.append((method.upper(), path, operation))
    return found


def document(openapi: OpenAPI) -> OpenAPI:
    """Write the docs into the OpenAPI document Litestar built (in place, and return it)."""
    openapi.components.security_schemes = COMPONENTS.security_schemes
    openapi.tags = TAGS
    for name, schema in openapi.components.schemas.items():
        schema.description = SCHEMAS.get(name, schema.description)
    for method, path, operation in operations(openapi):
        doc = DOCS.get((method, path))
        if doc is None:
            continue  # the unit test names it
        operation.summary = doc.summary
        operation.description = doc.description
        if doc.secured:
            operation.security = SECURITY
        _describe_parameters(operation)
        if doc.request and operation.request_body is not None:
            assert not isinstance(operation.request_body, Reference)
            for media in operation.request_body.content.values():
                media.examples = {name: RawExample(value=v) for name, v in doc.request.items()}
        for status, response in (operation.responses or {}).items():
            assert isinstance(response, OpenAPIResponse)
            if int(status) >= 400:
                _describe_problem(method, path, int(status), response, operation)
            else:
                _describe_response(int(status), response, doc)
    return openapi


def _describe_parameters(operation: Operation) -> None:
    for parameter in operation.parameters or []:
        if isinstance(parameter, Parameter) and parameter.name in PARAMETERS:
            description, example = PARAMETERS[parameter.name]
            parameter.description = parameter.description or description
            parameter.examples = {"ejemplo": RawExample(value=example)}


#: One event of GET /events (before OpenAPI 3.2, an event stream's schema is that of each
#: event: its fields, ``data`` holding the text of its JSON).
_STATUS_EVENT = Schema(
    type=OpenAPIType.OBJECT,
    description="Un evento `status`: en `data`, el mismo JSON que GET /status.",
    properties={
        "event": Schema(type=OpenAPIType.STRING, const="status"),
        "data": Schema(
            type=OpenAPIType.STRING,
            content_media_type="application/json",
            content_schema=Reference(ref="#/components/schemas/JobStatusView"),
        ),
        "retry": Schema(type=OpenAPIType.INTEGER, description="Milisegundos antes de reconectar."),
    },
    required=["data"],
)


def _describe_response(status: int, response: OpenAPIResponse, doc: Doc) -> None:
    response.description = doc.described.get(status, response.description)
    names = doc.headers.get(status, ())
    if names:
        # "Location@upload": a header whose meaning differs by operation, under its name.
        documented = {n.split("@")[0]: HEADERS[n] for n in names}
        response.headers = {**(response.headers or {}), **documented}
    for media_type, media in (response.content or {}).items():
        if media_type == "text/event-stream":
            media.schema = _STATUS_EVENT
        elif media_type == _ZIP:
            media.schema = Schema(
                type=OpenAPIType.STRING,
                content_media_type=_ZIP,
                description="El ZIP: el libro Excel del reporte y errores.csv.",
            )
        examples = doc.responses.get(status)
        if examples:
            media.examples = {name: RawExample(value=v) for name, v in examples.items()}


def _describe_problem(
    method: str, path: str, status: int, response: OpenAPIResponse, operation: Operation
) -> None:
    if (path, str(status)) in SEED_SHAPED:
        for media in (response.content or {}).values():
            media.examples = {"sistema-original": RawExample(value=_SEED_EXAMPLES[str(status)])}
        return
    title, detail = _PROBLEMS.get(status, ("Error", "Error"))
    example = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if status == 400 and operation.request_body is None:
        # Without a body, a 400 is for a malformed parameter (Litestar's own, answered as
        # problem details too by errors.handle_http, with what was wrong in ``errors``).
        if "problem" not in str(response.content):
            response.description = "Solicitud inválida: un parámetro no tiene la forma esperada"
        key, source, message = _invalid_parameter(operation)
        example = {
            **example,
            "title": f"Validation failed for {method} {path}",
            "detail": f"Validation failed for {method} {path}",
            "errors": [{"message": message, "key": key, "source": source}],
        }
    response.content = {
        PROBLEM_JSON: OpenAPIMediaType(
            schema=Reference(ref="#/components/schemas/Problem"),
            examples={"problema": RawExample(value=example)},
        )
    }
    if status in _RETRYING:
        response.headers = {**(response.headers or {}), "Retry-After": HEADERS["Retry-After"]}


def openapi_config() -> OpenAPIConfig:
    """The document at /schema/openapi.json, Swagger UI at /schema and /schema/swagger."""
    swagger = SwaggerRenderPlugin(
        path="/swagger",
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f'<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">',
    )
    return OpenAPIConfig(
        title="Async Reports",
        version="0.1.0",
        description=DESCRIPTION,
        path=SCHEMA_PATH,
        components=COMPONENTS,
        tags=TAGS,
        render_plugins=[swagger],
    )


def swagger_assets() -> Router:
    """Swagger UI's script, style sheet and icon, from the installed package."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[SWAGGER_UI_DIR],
        name="swagger-ui",
        include_in_schema=False,
        # The files change only with the package's version.
        cache_control=CacheControlHeader(max_age=86400),
    )


def _invalid_parameter(operation: Operation) -> tuple[str, str, str]:
    """A parameter of the operation and what Litestar says when it is malformed."""
    for parameter in operation.parameters or []:
        if isinstance(parameter, Parameter) and isinstance(parameter.schema, Schema):
            schema = parameter.schema
            if schema.type == OpenAPIType.INTEGER:
                return parameter.name, _source(parameter), "Expected `int`, got `str`"
            if schema.max_length is not None:
                limit = f"Expected `str` of length <= {schema.max_length}"
                return parameter.name, _source(parameter), limit
    first = next((p for p in operation.parameters or [] if isinstance(p, Parameter)), None)
    if first is None:
        return "job_id", "path", "Expected `str`, got `int`"
    return first.name, _source(first), "Expected `str`, got `int`"


def _source(parameter: Parameter) -> str:
    """Where the parameter goes ("query", "path"...): Litestar sets an enum of str there."""
    return str(getattr(parameter.param_in, "value", parameter.param_in))
