"""Who is calling: optional API keys with two roles.

Keys come from ``AR_API_KEYS`` as ``role:name:key`` items separated by commas, role being
``client`` (sees and downloads only its own jobs) or ``operator`` (sees everything). With
no keys configured the api runs open: every caller is the operator, and start-up says so.
Keys are held only as SHA-256 digests and compared as such.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from litestar import Request

from reports_shared.errors import ConfigurationError
from reports_shared.jobs import JobRecord

from ..errors import Forbidden, JobNotFound, Unauthorized


class Role(StrEnum):
    """What a key may do."""

    CLIENT = "client"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a name (the owner recorded on its jobs) and a role."""

    name: str
    role: Role

    @property
    def is_operator(self) -> bool:
        """Whether it sees every job."""
        return self.role == Role.OPERATOR

    def may_see(self, record: JobRecord) -> bool:
        """Whether this caller may see (and download) a job."""
        return self.is_operator or record.owner == self.name


#: Shortest API key accepted in AR_API_KEYS (the docs say so).
MIN_KEY_LENGTH = 16
#: The caller when no keys are configured.
OPEN_ACCESS = Principal("anonymous", Role.OPERATOR)


class ApiKeys:
    """The configured keys, by digest."""

    def __init__(self, spec: str) -> None:
        self._by_digest: dict[bytes, Principal] = {}
        items = filter(None, (part.strip() for part in spec.split(",")))
        for number, item in enumerate(items, start=1):
            role, _, rest = item.partition(":")
            name, _, key = rest.partition(":")
            problem = _wrong(role, name, key)
            if problem:
                # Which entry and why, never its key: the message goes to logs.
                raise ConfigurationError(
                    f"AR_API_KEYS: entry {number} ({role[:20]}:{name[:40]}:…) {problem}; "
                    "entries are role:name:key separated by commas, role client or operator, "
                    f"key at least {MIN_KEY_LENGTH} characters"
                )
            self._by_digest[key_digest(key)] = Principal(name, Role(role))

    @property
    def enabled(self) -> bool:
        """Whether any key is configured (otherwise the api is open)."""
        return bool(self._by_digest)

    def identify(self, request: Request[Any, Any, Any]) -> Principal:
        """The caller of a request; 401 when keys are on and it has none that is valid."""
        if not self.enabled:
            return OPEN_ACCESS
        api_key, authorization = _key_headers(request.scope["headers"])
        key = api_key or _bearer(authorization)
        if not key:
            raise Unauthorized("Falta la clave de API (encabezado X-API-Key).")
        digest = key_digest(key)
        for known, principal in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return principal
        raise Unauthorized("La clave de API no es válida.")


def _wrong(role: str, name: str, key: str) -> str:
    """What is wrong with an AR_API_KEYS entry ("": nothing)."""
    if role not in {r.value for r in Role}:
        return f"has role '{role[:20]}', neither client nor operator"
    if not name:
        return "has no name"
    if not key:
        return "has no key"
    if len(key) < MIN_KEY_LENGTH:
        return f"has a key of {len(key)} characters, under {MIN_KEY_LENGTH}"
    return ""


def require_operator(principal: Principal) -> None:
    """403 unless the caller is an operator."""
    if not principal.is_operator:
        raise Forbidden("Solo un operador puede consultar este recurso.")


def check_visible(principal: Principal, record: JobRecord) -> None:
    """404 (not 403: do not tell that the job exists) for another client's job."""
    if not principal.may_see(record):
        raise JobNotFound(f"No existe un trabajo con id '{record.job_id}'.")


def client_identity(principal: Principal, request: Request[Any, Any, Any]) -> str:
    """Whom a submission counts against: the key's name, or the address when open."""
    if principal is not OPEN_ACCESS:
        return f"key:{principal.name}"
    return f"ip:{request.client.host if request.client else 'unknown'}"


def key_digest(key: str) -> bytes:
    """SHA-256 of a key, the only form in which keys are held."""
    return hashlib.sha256(key.encode()).digest()


def _key_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """The first X-API-Key and Authorization of a request's raw headers, as
    ``request.headers.get`` finds them, without building Litestar's map of every header
    (4 % of a status' CPU under cProfile)."""
    api_key = authorization = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"x-api-key":
            if api_key is None:
                api_key = value.decode("latin-1")
        elif lowered == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
    return api_key, authorization


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None
