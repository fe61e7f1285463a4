"""The service's address, checked before any request so a mistyped one says what is wrong."""

from __future__ import annotations

import re

import httpx

from .errors import InvalidAddress

#: Where the service listens when nothing else is said (also ``ASYNC_REPORTS_URL``).
DEFAULT_URL = "http://127.0.0.1:8000"
#: The path of every endpoint of the API under the service's address.
API_PREFIX = "/api/AsyncReports"

#: A host name (IDNA-encoded), an IPv4 address, or an IPv6 one (httpx drops its brackets).
_HOST = re.compile(r"[A-Za-z0-9.-]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.%]*")


def service_url(text: str) -> str:
    """``text`` as the service's base URL, without a trailing slash; the API's own address
    (ending in /api/AsyncReports) is taken too. Raises InvalidAddress, in Spanish."""
    given = text.strip()
    example = f"por ejemplo {DEFAULT_URL}"
    if "://" not in given:
        raise InvalidAddress(
            f"La dirección del servicio '{given}' no dice el protocolo: escriba http:// o "
            f"https:// delante ({example})."
        )
    try:
        url = httpx.URL(given)
    except httpx.InvalidURL as exc:
        raise InvalidAddress(
            f"La dirección del servicio '{given}' no es válida ({_invalid(exc)}; {example})."
        ) from exc
    if url.scheme not in {"http", "https"}:
        raise InvalidAddress(
            f"La dirección del servicio '{given}' usa el protocolo '{url.scheme}': el servicio "
            f"solo atiende por http:// o https:// ({example})."
        )
    host = url.raw_host.decode("ascii", errors="replace")
    if not host:
        raise InvalidAddress(
            f"La dirección del servicio '{given}' no dice el servidor ({example})."
        )
    if not _HOST.fullmatch(host):
        raise InvalidAddress(
            f"La dirección del servicio '{given}' tiene un nombre de servidor no válido "
            f"({example})."
        )
    path = url.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path.removesuffix(API_PREFIX)
    return str(url.copy_with(path=path or "/", query=None, fragment=None)).rstrip("/")


def _invalid(exc: httpx.InvalidURL) -> str:
    """httpx's complaint, for the one a person makes most: a port that is not a number."""
    if str(exc).startswith("Invalid port"):
        return "el puerto debe ser un número"
    return "no se puede leer como URL"
