"""Downloading a report: streamed to disk, resumed with Range after a broken connection.

The bytes go to ``<destination>.part`` and the file is renamed into place only when whole,
so a half-downloaded report never looks like a finished one. A resumed request carries
``If-Range`` with the first answer's ETag: were the file to change in between, the service
sends it whole again instead of a piece of another file.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx

from .errors import DownloadFailed
from .multipart import ProgressCallback
from .network import reason

#: Seconds between attempts after a broken connection (doubling, at most this many).
BACKOFF_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")

#: Turns an answer that is neither 200 nor 206 into the error to raise.
ErrorFor = Callable[[httpx.Response], Exception]


class ResumableDownload:
    """One file to fetch from ``url`` into ``destination``, resuming where it broke."""

    def __init__(
        self,
        http: httpx.Client,
        url: str,
        destination: Path,
        error_for: ErrorFor,
        on_progress: ProgressCallback | None = None,
        attempts: int = 5,
    ) -> None:
        self.http = http
        self.url = url
        self.destination = destination
        self.partial = destination.with_name(destination.name + ".part")
        self.error_for = error_for
        self.on_progress = on_progress
        self.attempts = max(1, attempts)
        self.done = 0
        self.total: int | None = None
        self.etag: str | None = None

    def run(self) -> Path:
        """Fetch the whole file; its final path."""
        self.destination.parent.mkdir(parents=True, exist_ok=True)
        last_error: httpx.TransportError | None = None
        with self.partial.open("wb") as out:
            for attempt in range(self.attempts):
                try:
                    if self._fetch(out):
                        break
                    last_error = None
                except httpx.TransportError as exc:
                    last_error = exc
                if attempt + 1 < self.attempts:
                    time.sleep(BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS) - 1)])
            else:
                self.partial.unlink(missing_ok=True)
                why = f": {reason(last_error, self.http.base_url)}" if last_error else ""
                raise DownloadFailed(
                    f"La descarga se interrumpió {self.attempts} veces "
                    f"({self.done} de {self.total or '?'} bytes){why}."
                )
        os.replace(self.partial, self.destination)
        return self.destination

    def _fetch(self, out: BinaryIO) -> bool:
        """One request, from where the file stands; whether it is now whole."""
        headers = {}
        if self.done:
            headers["Range"] = f"bytes={self.done}-"
            if self.etag:
                headers["If-Range"] = self.etag
        with self.http.stream("GET", self.url, headers=headers) as response:
            if response.status_code == 416 and self.total is not None:
                return self.done >= self.total  # nothing left to send
            if response.status_code not in {200, 206}:
                response.read()
                raise self.error_for(response)
            if not self._start(out, response):
                return False
            for chunk in response.iter_bytes():  # as received: a break loses nothing read
                out.write(chunk)
                self.done += len(chunk)
                if self.on_progress is not None:
                    self.on_progress(self.done, self.total)
        out.flush()
        return self.total is None or self.done >= self.total

    def _start(self, out: BinaryIO, response: httpx.Response) -> bool:
        """Whether this answer's bytes can be written: on from where we were, or from the top."""
        if response.status_code == 206:
            match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if match is None or int(match.group(1)) != self.done:
                self._restart(out)  # not the piece we asked for: ask for the whole file
                return False
            if match.group(3) != "*":
                self.total = int(match.group(3))
            return True
        # The whole file (the service ignored the range, or the file changed): start over.
        self._restart(out)
        self.etag = response.headers.get("etag")
        length = response.headers.get("content-length", "")
        self.total = int(length) if length.isdigit() else None
        return True

    def _restart(self, out: BinaryIO) -> None:
        out.seek(0)
        out.truncate()
        self.done = 0
        self.etag = None
