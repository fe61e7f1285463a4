"""Download tokens: HMAC of the job id under a server secret, never stored themselves.

A token is 256 bits, URL-safe, unguessable without the secret and separate from the job
id. Redis keeps only its SHA-256 (to find the job) with an expiry a little past the job's;
a download recomputes the token for that job and compares in constant time. The same job
always gets the same token, so every api replica shows the same download URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


class DownloadTokens:
    """Mints and checks download tokens."""

    #: Jobs whose token this process indexed, remembered up to this many (then forgotten).
    INDEXED_MEMORY = 65_536
    #: ... and for this long: a token index lost by Redis (a restart without persistence,
    #: a failover) is written again by the next poll after it.
    INDEXED_SECONDS = 300.0
    #: Tokens kept once minted, up to this many (then forgotten): the jobs being polled
    #: (each ~150 bytes with its id; 65,536 held ~10 MB for an HMAC of ~10 µs saved).
    MINTED_MEMORY = 4096

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"async-reports download tokens\0" + secret.encode()).digest()
        self._indexed: dict[str, float] = {}
        #: Tokens minted lately, by job (a job's token never changes: its status, polled
        #: over and over, shows it without an HMAC each time).
        self._minted: dict[str, str] = {}

    def indexed(self, job_id: str) -> bool:
        """Whether this process made the job's token findable lately (a Redis write saved
        on the later polls of a Completed job)."""
        since = self._indexed.get(job_id)
        return since is not None and time.monotonic() - since < self.INDEXED_SECONDS

    def remember_indexed(self, job_id: str) -> None:
        """The job's token is findable now."""
        if len(self._indexed) >= self.INDEXED_MEMORY:
            self._indexed.clear()
        self._indexed[job_id] = time.monotonic()

    def mint(self, job_id: str) -> str:
        """The download token of a job."""
        token = self._minted.get(job_id)
        if token is None:
            digest = hmac.new(self._key, job_id.encode(), hashlib.sha256).digest()
            token = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if len(self._minted) >= self.MINTED_MEMORY:
                self._minted.clear()
            self._minted[job_id] = token
        return token

    def matches(self, token: str, job_id: str) -> bool:
        """Whether ``token`` is the job's token (constant-time)."""
        return hmac.compare_digest(self.mint(job_id).encode(), token.encode())
