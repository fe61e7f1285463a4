"""What the OpenAPI document says of the endpoints that read their bodies themselves.

The submission endpoints stream their bodies (they declare no ``data`` parameter), so
Litestar cannot describe them; these operation classes add the request bodies, and the
response specs list every problem each endpoint can answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import msgspec
from litestar.enums import ParamType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from reports_shared.webhooks import MAX_CALLBACK_URL_LENGTH

from .errors import PROBLEM_JSON
from .intake.idempotency import MAX_KEY_LENGTH
from .intake.submissions import FLAG_VALUES

_TEXT = Schema(type=OpenAPIType.STRING)
_FLAG = Schema(
    type=OpenAPIType.STRING,
    enum=FLAG_VALUES,  # every spelling the api takes (blank: false)
    description="'true' o 'false' (también 1/0, yes/no, sí/no, on/off; vacío: false).",
)
#: Text with something besides blanks: the api strips both fields and refuses them empty.
_NOT_BLANK = r"\S"
#: The same, and no control character (ESC, CR, LF, NUL...): a stored text shown to others.
_PRINTABLE_NOT_BLANK = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
_FIELDS = {
    "reportType": Schema(
        type=OpenAPIType.STRING,
        min_length=1,
        pattern=_NOT_BLANK,
        description="Tipo de reporte (GET /report-types).",
    ),
    "userName": Schema(
        type=OpenAPIType.STRING, min_length=1, max_length=256, pattern=_PRINTABLE_NOT_BLANK
    ),
}


class Problem(msgspec.Struct):
    """RFC 9457 problem details, as every error is answered."""

    type: str
    title: str
    status: int
    detail: str


#: What check_callback_url takes: http(s), a host, no user or password, a port 1-65535,
#: no control character (blanks around it are stripped). A private or local host is
#: refused unless the deployment allows it (AR_WEBHOOK_ALLOW_PRIVATE_ADDRESSES), which no
#: schema can say.
_CALLBACK_URL = (
    r"^\s*$|"  # blank: no webhook of its own (the key's default, if any)
    r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\s:\x00-\x1f\x7f-\x9f]+"
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
    r"([/?#][^\s\x00-\x1f\x7f-\x9f]*)?\s*$"
)
#: A submission's completion webhook (docs/integrators/webhooks.md).
_CALLBACK = Schema(
    type=OpenAPIType.STRING,
    # No format "uri": the pattern is what the api checks (a host of any characters but
    # separators, blanks around the URL stripped), and it claims no more than that.
    pattern=_CALLBACK_URL,
    max_length=MAX_CALLBACK_URL_LENGTH,
    description=(
        "URL a la que se envía un evento firmado (Standard Webhooks) cuando el trabajo "
        "termina; no puede apuntar a direcciones locales ni privadas. Vacía: la de la clave, "
        "si tiene una."
    ),
)


def _idempotency_key() -> Parameter:
    """The optional Idempotency-Key header of the asynchronous submissions."""
    return Parameter(
        name="Idempotency-Key",
        param_in=ParamType.HEADER,
        required=False,
        schema=Schema(
            type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_LENGTH, pattern=_NOT_BLANK
        ),
        description=(
            "Clave de un envío (borrador IETF): repetirla con los mismos datos devuelve el "
            "trabajo que creó; con otros datos es un 422. Enviada mientras otro envío con "
            "ella sigue en curso, se espera a que termine (hasta 5 s) y se responde lo mismo; "
            "si aún no terminó, 409 con Retry-After."
        ),
    )


def _with(
    parameters: list[Parameter | Reference] | None, added: Parameter
) -> list[Parameter | Reference]:
    return [*(parameters or []), added]


@dataclass
class MultipartOperation(Operation):
    """POST /queue-multipart: the seed's four form fields, the file streamed."""

    def __post_init__(self) -> None:
        schema = Schema(
            type=OpenAPIType.OBJECT,
            required=["reportType", "userName", "dataFile"],
            properties={
                **_FIELDS,
                "isLargeDataset": _FLAG,
                "callbackUrl": _CALLBACK,
                # Every report type takes it (the values are those GET /report-types lists);
                # declared so that the docs' form shows it.
                "csvDialect": Schema(
                    type=OpenAPIType.STRING,
                    description=(
                        "Opción: dialecto de errores.csv (rfc4180, el predeterminado, o "
                        "excel-es para Excel en español)."
                    ),
                ),
                "dataFile": Schema(
                    type=OpenAPIType.STRING,
                    format="binary",  # type: ignore[arg-type]
                    min_length=1,  # an empty file is refused
                    description="JSON: arreglo, objeto con un arreglo o NDJSON; admite gzip.",
                ),
            },
            # Any other field is an option of the report type (GET /report-types).
            additional_properties=Schema(
                type=OpenAPIType.STRING, description="Opción del tipo de reporte (csvDialect)."
            ),
        )
        self.request_body = RequestBody(
            content={"multipart/form-data": OpenAPIMediaType(schema=schema)}, required=True
        )
        self.parameters = _with(self.parameters, _idempotency_key())


@dataclass
class JsonBodyOperation(Operation):
    """POST /queue-json and /api/Reports/generate: the seed's JSON body."""

    #: Whether it takes a webhook and an Idempotency-Key (a class attribute: a dataclass
    #: field would be written into the document as an operation field).
    callback: ClassVar[bool] = False

    def __post_init__(self) -> None:
        json_data = Schema(
            one_of=[
                Schema(
                    type=OpenAPIType.STRING,
                    description="El JSON en texto, como en el sistema original.",
                ),
                Schema(
                    type=OpenAPIType.ARRAY,
                    # Any JSON value: records are checked one by one as the report is
                    # built, and one that is not an object goes to errores.csv.
                    items=Schema(),
                    min_items=1,
                    description=(
                        "Los registros (al menos uno); uno que no es un objeto se rechaza "
                        "y va a errores.csv."
                    ),
                ),
                Schema(type=OpenAPIType.OBJECT),
            ]
        )
        schema = Schema(
            type=OpenAPIType.OBJECT,
            required=["reportType", "userName", "jsonData"],
            properties={
                **_FIELDS,
                "jsonData": json_data,
                "isLargeDataset": Schema(
                    one_of=[Schema(type=[OpenAPIType.BOOLEAN, OpenAPIType.NULL]), _FLAG]
                ),
                "options": Schema(
                    # null: no options, as when it is left out
                    type=[OpenAPIType.OBJECT, OpenAPIType.NULL],
                    additional_properties=_TEXT,
                    description="Opciones del tipo de reporte (GET /report-types).",
                ),
            },
        )
        if self.callback:  # the asynchronous one: a webhook, and retries by key
            # null: no webhook of its own, as when it is left out or blank
            callback = Schema(one_of=[_CALLBACK, Schema(type=OpenAPIType.NULL)])
            schema.properties = {**(schema.properties or {}), "callbackUrl": callback}
            self.parameters = _with(self.parameters, _idempotency_key())
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=schema)}, required=True
        )


@dataclass
class QueueJsonOperation(JsonBodyOperation):
    """POST /queue-json: the seed's JSON body, and a completion webhook's URL."""

    callback: ClassVar[bool] = True


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Response specs for the problem statuses an endpoint may answer."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS.get(status, "Error"),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "Solicitud inválida: qué falta o qué está mal",
    401: "Falta la clave de API o no es válida",
    403: "Solo para operadores",
    404: "No existe (o es de otro cliente)",
    409: (
        "Conflicto: el trabajo ya terminó, otra solicitud sobre la misma subida sigue en "
        "curso, o la misma Idempotency-Key está en uso por otro envío aún en curso "
        "(con Retry-After)"
    ),
    410: "Expirado",
    413: "Demasiado grande",
    415: "Tipo de contenido no admitido",
    416: "Rango fuera del archivo",
    422: "No se pudo generar el reporte, o la Idempotency-Key ya se usó con otros datos",
    429: "Demasiados envíos este minuto",
    460: "El cuerpo no coincide con su Upload-Checksum (tus): no se guardó nada de él",
    503: "Un servicio interno no está disponible o el api está ocupado",
}
#: Problems every submission may answer.
SUBMISSION_PROBLEMS = (400, 401, 413, 415, 429, 503)
