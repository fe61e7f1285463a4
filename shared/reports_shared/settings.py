"""Typed settings read from the environment (``AR_`` + the field name in upper case)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from .constants import Names
from .errors import ConfigurationError

ENV_PREFIX = "AR_"

S = TypeVar("S", bound=msgspec.Struct)


def env_name(field: str) -> str:
    """Environment variable that sets a settings field."""
    return ENV_PREFIX + field.upper()


def load_settings(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build a settings struct from the environment; fields without a default are required."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        raw = environ.get(env_name(field.name))
        if raw is not None and raw != "":
            values[field.name] = raw
    try:
        return msgspec.convert(values, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigurationError(_explain(str(exc))) from exc


def _explain(message: str) -> str:
    """msgspec's message, naming the environment variable instead of the field."""
    at = re.search(r"at `\$\.(\w+)`", message)
    missing = re.search(r"missing required field `(\w+)`", message)
    if at:
        return f"{env_name(at.group(1))}: {message.split(' - at ', maxsplit=1)[0]}"
    if missing:
        return f"{env_name(missing.group(1))} is required (set it in the environment or in .env)"
    return message


#: Fields whose values are secrets, by a word in their name.
SECRET_WORDS = ("secret", "access_key", "api_keys", "password")


class CommonSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Connections every service needs."""

    s3_access_key: str
    s3_secret_key: str
    s3_endpoint: str = "127.0.0.1:8333"
    s3_bucket: str = "async-reports"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    #: Longest wait for a connection to storage and for each write of a request on it, then
    #: for each read of the answer (urllib3's); a whole upload or download may take longer,
    #: it only must not stall that long.
    s3_connect_timeout_seconds: float = 5.0
    s3_read_timeout_seconds: float = 60.0
    #: Tries of a storage request after the first (on a connection error, a timeout, a
    #: 502/503/504).
    s3_retries: int = 2
    #: Longest wait of a readiness probe's storage check (one try, no retry).
    s3_probe_timeout_seconds: float = 3.0
    redis_url: str = "redis://127.0.0.1:6379/0"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    namespace: str = "ar"
    log_level: str = "INFO"
    log_format: str = "json"
    #: How long a finished job keeps its record, ZIP and download token.
    job_ttl_seconds: int = 86_400
    #: How long the tombstone of an expired job answers 410 before the id is forgotten.
    tombstone_ttl_seconds: int = 7 * 86_400
    #: How long a running job's lease lasts without renewal (worker death detection).
    lease_ttl_seconds: int = 30
    #: Delete a job's payload as soon as the job is finished: by its worker, or by the api
    #: for a job served from the cache at submission or cancelled while queued. False: a
    #: payload stays until the janitor expires its job.
    delete_payloads: bool = True
    #: Reuse the ZIP of an identical earlier submission (same type, options and dataset).
    cache_enabled: bool = True
    #: Whether a client may be served a report built from another client's identical
    #: submission; by default the cache is shared only within one owner (API key name).
    cache_shared_across_clients: bool = False
    #: Most bytes of ZIPs the report cache keeps; least recently used go first.
    cache_max_bytes: int = 5 * 1024**3
    #: Whether callback URLs may point at loopback, private, link-local or reserved
    #: addresses (off: refused at submission and at delivery, against request forgery).
    webhook_allow_private_addresses: bool = False

    def __repr__(self) -> str:
        """The settings with every secret masked and URLs without their passwords (a
        traceback or a debugger may print them)."""
        shown = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if any(word in name for word in SECRET_WORDS):
                value = "***" if value else ""
            elif isinstance(value, str) and name.endswith("_url"):
                value = redact_url(value)
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @property
    def names(self) -> Names:
        """Names of queues, keys and objects in this namespace."""
        return Names(self.namespace)


def redact_url(url: str) -> str:
    """A URL with its password replaced, fit for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
