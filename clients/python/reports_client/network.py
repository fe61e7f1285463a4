"""Why a connection failed, in Spanish (httpx says it in English, with errno numbers), and
how long a busy service asks to wait."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx

#: The longest Retry-After the client honours; a longer one is waited this long.
MAX_RETRY_AFTER_SECONDS = 30.0


def reason(exc: httpx.TransportError, url: httpx.URL) -> str:
    """What went wrong reaching ``url``, as a person can act on it."""
    where = _where(url)
    causes = list(_chain(exc))
    if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in causes):
        detail = next(c for c in causes if isinstance(c, ssl.SSLCertVerificationError))
        why = getattr(detail, "verify_message", "") or "no es de confianza"
        return f"el certificado TLS de {where} no es válido ({why})"
    if any(isinstance(cause, ssl.SSLError) for cause in causes):
        if url.scheme == "https" and "WRONG_VERSION_NUMBER" in str(exc):
            return f"{where} no habla HTTPS (¿es http:// en vez de https://?)"
        return f"falló la conexión segura (TLS) con {where}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "la dirección debe empezar con http:// o https://"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"{where} no aceptó la conexión a tiempo"
    if isinstance(exc, httpx.PoolTimeout):
        return f"no hubo una conexión libre con {where} a tiempo"
    if isinstance(exc, httpx.TimeoutException):
        return f"{where} no respondió a tiempo"
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return f"no se encontró el servidor {url.host or '(vacío)'}"
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return f"nadie atiende en {where} (conexión rechazada)"
    if isinstance(exc, httpx.ProxyError):
        return f"el proxy no dejó pasar la conexión con {where}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{where} cortó la conexión o no responde en HTTP"
    if isinstance(exc, httpx.ConnectError):
        return f"no se pudo abrir una conexión con {where}"
    return f"se cortó la conexión con {where}"


def _where(url: httpx.URL) -> str:
    """Host and port, the part of an address a connection goes to."""
    port = url.port or (443 if url.scheme == "https" else 80)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{port}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error and those it was raised from (httpx wraps httpcore's, which wraps the OS's)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def retry_after(response: httpx.Response) -> float | None:
    """The seconds ``response``'s Retry-After asks for (at most 30), or None."""
    value = response.headers.get("retry-after", "")
    try:
        return min(float(value), MAX_RETRY_AFTER_SECONDS) if value else None
    except ValueError:
        return None
