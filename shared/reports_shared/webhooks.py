"""Completion webhooks: the event, its signature, and which callback URLs may be called.

A job submitted with a callback URL gets one event when it ends (Completed, Failed or
Cancelled), POSTed as JSON and signed per the Standard Webhooks specification: headers
``webhook-id`` (the same on every attempt, so a receiver can drop repeats),
``webhook-timestamp`` and ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of
``id.timestamp.body``). Each API key name has its own signing secret, derived from the
server's token secret, so one client cannot sign events another client would accept.

Callback URLs are checked twice against server-side request forgery: at submission (the
form of the URL, and its host if it is an address) and at every delivery (every address
its name resolves to then, and the attempt connects to one of those very addresses).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import socket
from datetime import datetime
from urllib.parse import SplitResult, urlsplit

import msgspec

from .constants import JobStatus, public_status

#: What an IPv4 literal in any of inet_aton's forms is made of (decimal, octal, hex parts).
_IPV4_LITERAL = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)
#: Longest callback URL accepted.
MAX_CALLBACK_URL_LENGTH = 2048
#: Event types, by the final status they tell.
EVENT_TYPES = {
    JobStatus.COMPLETED: "report.completed",
    JobStatus.FAILED: "report.failed",
    JobStatus.CANCELLED: "report.cancelled",
}
#: Seconds between attempts after the first failed one (the Standard Webhooks schedule:
#: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; about 27.5 hours of trying in all).
DEFAULT_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,36000"


class CallbackRefused(ValueError):
    """A callback URL the service will not call; the message says why (Spanish, public)."""


class WebhookEventData(msgspec.Struct, rename="camel", kw_only=True):
    """What a webhook tells about its job (the status view's names)."""

    job_id: str
    status: JobStatus
    outcome: JobStatus
    message: str
    report_type: str
    user_name: str
    created_at: datetime
    completed_at: datetime | None
    status_url: str
    download_url: str | None
    expires_at: datetime | None
    file_name: str | None
    file_size_bytes: int | None
    records_processed: int
    records_rejected: int
    error: str | None


class WebhookEvent(msgspec.Struct, rename="camel", kw_only=True):
    """The body of a webhook (the Standard Webhooks envelope: type, timestamp, data)."""

    type: str
    timestamp: datetime
    data: WebhookEventData


def event_type(status: JobStatus) -> str:
    """The event type of a final status."""
    return EVENT_TYPES.get(status, "report.failed")


def event_status(status: JobStatus) -> JobStatus:
    """The ``status`` an event shows: the seed's (a cancelled job is Failed)."""
    return public_status(status)


def message_id(job_id: str, status: JobStatus) -> str:
    """The ``webhook-id`` of a job's event: the same on every attempt."""
    return f"msg_{job_id}_{status.value.lower()}"


def signing_secret(token_secret: str, owner: str) -> str:
    """The ``whsec_`` secret that signs the events of an API key name's jobs (``owner``
    empty: the open api's jobs), derived from the server's token secret."""
    master = hashlib.sha256(b"async-reports webhooks\0" + token_secret.encode()).digest()
    key = hmac.new(master, owner.encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(key).decode()


def check_callback_url(url: str, allow_private: bool = False) -> str:
    """The callback URL, stripped, if the service may call it; CallbackRefused otherwise.

    Checks its form (http or https, a host, no user or password, a valid port, not too
    long) and, when its host is an address or ``localhost``, that it is public unless
    ``allow_private``. A name is resolved at delivery time (:func:`public_addresses`).
    """
    url = url.strip()
    if len(url) > MAX_CALLBACK_URL_LENGTH:
        raise CallbackRefused(f"'callbackUrl' supera {MAX_CALLBACK_URL_LENGTH} caracteres.")
    if any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in url):
        # urlsplit drops tabs and line breaks silently: the URL checked would not be the
        # one stored and shown.
        raise CallbackRefused(
            "'callbackUrl' no admite caracteres de control (ESC, tabulador, salto de línea...)."
        )
    parts = _split(url)
    host = parts.hostname or ""
    if not allow_private:
        if host == "localhost" or host.endswith(".localhost"):
            raise CallbackRefused(_private(host))
        address = _address(host)
        if address is not None and not is_public(address):
            raise CallbackRefused(_private(host, str(address)))
    return url


def public_addresses(url: str, allow_private: bool = False) -> list[str]:
    """The addresses to connect to for ``url``, resolved now; CallbackRefused when the
    name does not resolve or any address it resolves to is not public (unless allowed)."""
    parts = _split(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CallbackRefused(f"El nombre '{host}' no se pudo resolver: {exc}.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not allow_private:
        for address in addresses:
            if not is_public(ipaddress.ip_address(address)):
                raise CallbackRefused(_private(host, address))
    return addresses


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is on the public internet (not loopback, private, link-local,
    shared, reserved, multicast; an IPv4-mapped IPv6 address is judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def shown_url(url: str) -> str:
    """A callback URL fit for logs and attempt records: no query, fragment or password."""
    try:
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        return f"{parts.scheme}://{netloc}{parts.path}"
    except ValueError:
        return "<invalid url>"


def retry_schedule(spec: str) -> list[float]:
    """Seconds between attempts, from a comma-separated setting."""
    try:
        delays = [float(part) for part in spec.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"not a list of seconds: {spec!r}") from None
    if any(delay < 0 for delay in delays):
        raise ValueError(f"negative delay in {spec!r}")
    return delays


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused(f"'callbackUrl' no es una URL válida: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise CallbackRefused("'callbackUrl' debe ser una URL http:// o https://.")
    if not parts.hostname:
        raise CallbackRefused("'callbackUrl' no tiene servidor (host).")
    if parts.username is not None or parts.password is not None:
        raise CallbackRefused(
            "'callbackUrl' no debe llevar usuario ni contraseña: los eventos van firmados."
        )
    if port == 0:
        raise CallbackRefused("'callbackUrl' tiene un puerto no válido.")
    return parts


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` stands for, if it is one: dotted, IPv6, or any other form a
    resolver takes as an IPv4 literal, as ``inet_aton`` does (``2130706433``, ``0``,
    ``0x7f.1``, ``0177.0.0.1``, ``127.1``), a final dot or not."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    literal = host.rstrip(".")
    # inet_aton stops at a space and takes what came before: only digits, x and dots here.
    if not _IPV4_LITERAL.fullmatch(literal):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(literal))
    except OSError:
        return None


def _private(host: str, address: str | None = None) -> str:
    where = f"'{host}'" + (f" ({address})" if address and address != host else "")
    return (
        f"'callbackUrl' apunta a {where}, una dirección local, privada o reservada: el "
        "servicio solo llama a direcciones públicas."
    )
