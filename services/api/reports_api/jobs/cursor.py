"""The job history's cursor: where a page ended, opaque to clients and signed.

A position is the last examined job's creation score and id, which order every history
index alike, so a cursor stays valid while jobs come and go. It is signed (HMAC under the
server secret) so that a cursor edited by hand is refused rather than trusted, and is the
same on every api replica.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from dataclasses import dataclass

from ..errors import InvalidRequest

#: Longest cursor accepted (one this api writes is about 80 characters).
MAX_CURSOR_LENGTH = 256
#: A cursor's form: its body and signature in unpadded URL-safe base64, joined by a dot.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
#: Bytes of the HMAC kept in a cursor: enough that guessing one is hopeless.
SIGNATURE_BYTES = 16
_INVALID = "El parámetro cursor no es válido: use el nextCursor de una respuesta anterior."


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page of the history ended: the last examined job's creation score and id."""

    score: float
    job_id: str


class Cursors:
    """Writes and reads the history's cursors."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"async-reports history cursors\0" + secret.encode()).digest()

    def encode(self, position: Position) -> str:
        """The opaque cursor of a position."""
        body = json.dumps([position.score, position.job_id], separators=(",", ":")).encode()
        return f"{_b64(body)}.{_b64(self._sign(body))}"

    def decode(self, cursor: str) -> Position:
        """The position of a cursor this api wrote; 400 for any other."""
        try:
            body_text, signature_text = cursor.split(".")
            body, signature = _unb64(body_text), _unb64(signature_text)
        except (ValueError, binascii.Error):
            raise InvalidRequest(_INVALID) from None
        if len(cursor) > MAX_CURSOR_LENGTH or not hmac.compare_digest(signature, self._sign(body)):
            raise InvalidRequest(_INVALID)
        try:
            score, job_id = json.loads(body)
        except (ValueError, TypeError):
            raise InvalidRequest(_INVALID) from None
        # Signed by us, so well formed; checked anyway, since a leaked secret must not
        # turn into a 500.
        if not isinstance(score, float | int) or not math.isfinite(score):
            raise InvalidRequest(_INVALID)
        if not isinstance(job_id, str) or not 0 < len(job_id) <= 64:
            raise InvalidRequest(_INVALID)
        return Position(float(score), job_id)

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or len(text) > MAX_CURSOR_LENGTH:
        raise ValueError("empty or too long")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
