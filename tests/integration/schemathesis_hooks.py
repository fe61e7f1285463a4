"""Schemathesis hooks: generated positive data obeys the rules the schema cannot state.

Loaded by the schemathesis CLI (SCHEMATHESIS_HOOKS) in tests/integration/test_schemathesis.py,
which passes the stack's url (AR_SCHEMATHESIS_API) and server secret (AR_TOKEN_SECRET).
Each rule depends on runtime data: the report types and options the running workers
announce, the records a report type builds, the api's signature on a cursor, the payload
an Idempotency-Key was first used with. Only the
components schemathesis generated as positive are touched, and each generated value is
kept where the rule allows (it picks the replacement or is wrapped in it), so every other
field is still generated freely; negative components go out as generated.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import zlib
from functools import cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis import Case, HookContext
from schemathesis.core.parameters import ParameterLocation

from reports_api.intake.idempotency import MAX_KEY_LENGTH
from reports_api.jobs.cursor import Cursors, Position
from reports_shared.webhooks import is_public
from tests.support.data import invoice

#: Form fields of queue-multipart that are not report options.
_FORM_FIELDS = {"reportType", "userName", "isLargeDataset", "dataFile", "callbackUrl"}
#: The submissions whose body names a report type, and the one that builds at once.
_JSON_SUBMISSIONS = {"/api/AsyncReports/queue-json", "/api/Reports/generate"}
_MULTIPART = "/api/AsyncReports/queue-multipart"
_SYNC = "/api/Reports/generate"
#: The submissions that take an Idempotency-Key.
_KEYED = {"/api/AsyncReports/queue-json", _MULTIPART}
#: A record each report type builds, for the types whose records have a required shape
#: (a type missing here builds any JSON object, as Tabular does).
_BUILDABLE_RECORDS: dict[str, dict[str, Any]] = {"FacturacionMasiva": invoice()}
#: tus: where uploads are created, and the media type of the bytes a PATCH sends.
_UPLOADS = "/api/AsyncReports/uploads"
_OFFSET_STREAM = "application/offset+octet-stream"
#: A public host name that never resolves (RFC 6761): a webhook to it is never delivered.
_PUBLIC_HOST = "hooks.example.invalid"


@cache
def _report_types() -> dict[str, dict[str, list[str]]]:
    """Report type to its options, as the running stack announces them (GET /report-types)."""
    response = httpx.get(f"{os.environ['AR_SCHEMATHESIS_API']}/api/AsyncReports/report-types")
    response.raise_for_status()
    return {item["name"]: item.get("options") or {} for item in response.json()}


def _pick(seed: object, choices: list[str]) -> str:
    """One of ``choices`` chosen by a generated value (stable across runs)."""
    return choices[zlib.crc32(repr(seed).encode()) % len(choices)]


def _positive(case: Case[Any], location: ParameterLocation) -> bool:
    # A negative case keeps its whole body as generated: "fixing" a positive part of it
    # could also fill in the field it leaves out on purpose.
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return False
    return not meta.is_negative_at(location)


@schemathesis.hook
def map_case(context: HookContext, case: Case[Any]) -> Case[Any]:
    """Apply each runtime rule to the positive components of a case."""
    path = case.operation.path
    if path == "/api/AsyncReports/jobs" and _positive(case, ParameterLocation.QUERY):
        _sign_cursor(case)
    body = case.body
    if isinstance(body, dict) and _positive(case, ParameterLocation.BODY):
        if path in _JSON_SUBMISSIONS:
            case.body = _json_submission(body, sync=path == _SYNC)
        elif path == _MULTIPART:
            case.body = _multipart_submission(body)
            # Schemathesis re-checks a body a hook changed, and takes one with binary parts
            # (dataFile) for invalid; this one holds only announced values beside what was
            # generated, so it stays positive.
            if case._meta is not None:
                case._meta.clear_dirty(ParameterLocation.BODY)
    if path in _KEYED and _positive(case, ParameterLocation.HEADER):
        _key_per_payload(case)
    if path == _UPLOADS and case.method == "POST" and _positive(case, ParameterLocation.HEADER):
        _tus_creation(case)
    if (
        path.startswith(_UPLOADS)
        and case.method == "PATCH"
        and _positive(case, ParameterLocation.BODY)
    ):
        # Rule: an upload's first bytes can start a JSON dataset (else 415), and no more of
        # them than it announced: one byte, as _tus_creation announces.
        case.body = b"["
    return case


# A tus PATCH's body goes out as the bytes it is, as an application/octet-stream one.
schemathesis.serializer.alias(_OFFSET_STREAM, "application/octet-stream")


def _tus_creation(case: Case[Any]) -> None:
    # Rule: Upload-Metadata holds the submission's fields, checked as a form's (a report
    # type the workers announce, a user), and the length is within the api's limit.
    if case.headers is None:
        return
    headers = CaseInsensitiveDict(case.headers)
    report_type = _pick(headers.get("Upload-Metadata"), sorted(_report_types()))
    fields = {"reportType": report_type, "userName": "schemathesis@empresa.com"}
    headers["Upload-Metadata"] = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in fields.items()
    )
    headers["Upload-Length"] = "1"
    case.headers = headers


def _key_per_payload(case: Case[Any]) -> None:
    # Rule: an Idempotency-Key is not reused with another payload (that is a 422, by the
    # IETF draft); the generated key gets the payload's digest, so only a retry of the
    # same payload shares it.
    if case.headers is None:
        return
    key = case.headers.get("Idempotency-Key")
    if isinstance(key, str):
        digest = hashlib.sha256(repr(case.body).encode()).hexdigest()[:32]
        headers = CaseInsensitiveDict(case.headers)
        headers["Idempotency-Key"] = f"{key[: MAX_KEY_LENGTH - 33]}-{digest}"
        case.headers = headers


def _sign_cursor(case: Case[Any]) -> None:
    # Rule: a cursor is a position the api signed (HMAC under its secret); this signs a
    # position made of the generated cursor, as the api would have written it.
    query = dict(case.query or {})
    cursor = query.get("cursor")
    if isinstance(cursor, str):
        position = Position(float(zlib.crc32(cursor.encode())), cursor[:64] or "0")
        query["cursor"] = Cursors(os.environ["AR_TOKEN_SECRET"]).encode(position)
        case.query = query


def _report_type(body: dict[str, Any]) -> str:
    # Rule: the report type is one the running workers announce (plug-ins, not a schema enum).
    return _pick(body.get("reportType"), sorted(_report_types()))


def _options(report_type: str, generated: dict[str, Any]) -> dict[str, str]:
    # Rule: options are the report type's announced ones with announced values; each
    # generated option picks one.
    allowed = _report_types()[report_type]
    chosen: dict[str, str] = {}
    for name, value in generated.items():
        if allowed:
            option = _pick(name, sorted(allowed))
            chosen[option] = _pick(value, allowed[option])
    return chosen


def _callback(url: object) -> object:
    # Rule: a callback's host is public unless the deployment allows private ones
    # (AR_WEBHOOK_ALLOW_PRIVATE_ADDRESSES); a local one is swapped for a public name.
    if not isinstance(url, str):
        return url
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    try:
        private = not is_public(ipaddress.ip_address(host))
    except ValueError:
        private = host == "localhost" or host.endswith(".localhost")
    if not private:
        return url
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=_PUBLIC_HOST + port))


def _json_submission(body: dict[str, Any], sync: bool) -> dict[str, Any]:
    report_type = _report_type(body)
    changed = {**body, "reportType": report_type}
    if isinstance(body.get("options"), dict):
        changed["options"] = _options(report_type, body["options"])
    if "callbackUrl" in body:
        changed["callbackUrl"] = _callback(body["callbackUrl"])
    changed["jsonData"] = _dataset(body.get("jsonData"), report_type if sync else None)
    return changed


def _multipart_submission(body: dict[str, Any]) -> dict[str, Any]:
    report_type = _report_type(body)
    fields = {k: v for k, v in body.items() if k in _FORM_FIELDS}
    extra = {k: v for k, v in body.items() if k not in _FORM_FIELDS}
    changed = {**fields, "reportType": report_type, **_options(report_type, extra)}
    if body.get("dataFile") in (b"", ""):
        # Rule (stated by the schema's minLength too): the file holds something.
        changed["dataFile"] = b"[{}]"
    if "callbackUrl" in body:
        changed["callbackUrl"] = _callback(body["callbackUrl"])
    return changed


def _dataset(json_data: object, builds: str | None) -> object:
    # Rule: jsonData holds at least one record: a string must be JSON of a list of records
    # (or an object holding one), an object must hold one. A generated value that does not
    # is wrapped as a record, so its content still goes in. With ``builds`` (the synchronous
    # endpoint answers the report itself) one record is one that report type builds.
    if isinstance(json_data, str):
        records = _records(json_data)
        if builds is not None:
            records.append(_BUILDABLE_RECORDS.get(builds, {}))
        return json.dumps(records, ensure_ascii=False)
    if isinstance(json_data, list):
        records = [r if isinstance(r, dict) else {"valor": r} for r in json_data] or [{}]
    else:
        records = [json_data if isinstance(json_data, dict) else {"valor": json_data}]
    if builds is not None:
        records.append(_BUILDABLE_RECORDS.get(builds, {}))
    return records if isinstance(json_data, list) else {"registros": records}


def _not_json(constant: str) -> Any:
    """NaN and Infinity: Python's json takes them, JSON (and the api) does not."""
    raise ValueError(constant)


def _records(text: str) -> list[Any]:
    """The records a jsonData string holds, or the string itself as one record."""
    try:
        parsed = json.loads(text, parse_constant=_not_json)
    except ValueError:
        return [{"valor": text}]
    if isinstance(parsed, list) and parsed and all(isinstance(r, dict) for r in parsed):
        return parsed
    return [{"valor": parsed}]
