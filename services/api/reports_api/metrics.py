"""Request metrics for Prometheus: the series Litestar's PrometheusMiddleware records.

Litestar's middleware builds a Request, two label dicts and four label lookups for every
request: a quarter of the CPU of a status (measured in-process, 64 at a time). This one
records the same series (``litestar_requests_total``, ``..._request_duration_seconds``,
``..._requests_in_progress``, ``..._requests_error_total``; labels method, path template,
status code, app name) from the ASGI scope, each label set's children looked up once.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Gauge, Histogram

from .headrequests import HEAD_AS_GET

PREFIX = "litestar"
LABELS = ("method", "path", "status_code", "app_name")
#: Made once per process: a second app in the same process (tests) reuses them.
_SERIES: dict[str, Any] = {}


def _series() -> tuple[Counter, Histogram, Gauge, Counter]:
    if not _SERIES:
        _SERIES.update(
            total=Counter(f"{PREFIX}_requests_total", "Total requests", LABELS),
            duration=Histogram(
                f"{PREFIX}_request_duration_seconds", "Request duration, in seconds", LABELS
            ),
            in_progress=Gauge(
                f"{PREFIX}_requests_in_progress",
                "Total requests currently in progress",
                LABELS,
                multiprocess_mode="livesum",
            ),
            errors=Counter(f"{PREFIX}_requests_error_total", "Total errors in requests", LABELS),
        )
    return _SERIES["total"], _SERIES["duration"], _SERIES["in_progress"], _SERIES["errors"]


class RequestMetrics:
    """ASGI middleware counting and timing every HTTP request by its route's template."""

    def __init__(self, app: ASGIApp, app_name: str) -> None:
        self.app = app
        self.app_name = app_name
        self.total, self.duration, self.in_progress, self.errors = _series()
        #: (method, path, status) -> (count, duration) children.
        self._done: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        #: (method, path) -> in-progress child (its status label is always 200, as in
        #: Litestar's: the status is not known yet).
        self._running: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request, then count it with its status and duration."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        # A HEAD that headrequests.HeadAsGet serves as its GET is counted as a HEAD.
        method = "HEAD" if scope.get(HEAD_AS_GET) else scope["method"]
        path = scope["path_template"]
        running = self._running.get((method, path))
        if running is None:
            running = self.in_progress.labels(method, path, 200, self.app_name)
            self._running[(method, path)] = running
        started = time.perf_counter()
        span = [200, 0.0]  # status, duration (until the last body part was sent)

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                span[0] = message["status"]
            elif message["type"] == "http.response.body":
                span[1] = time.perf_counter() - started
            await send(message)

        running.inc()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            running.dec()
            self._count(method, path, int(span[0]), span[1])

    def _count(self, method: str, path: str, status: int, seconds: float) -> None:
        children = self._done.get((method, path, status))
        if children is None:
            labels = (method, path, status, self.app_name)
            children = (self.total.labels(*labels), self.duration.labels(*labels))
            self._done[(method, path, status)] = children
        if status >= 500:
            self.errors.labels(method, path, status, self.app_name).inc()
        children[0].inc()
        children[1].observe(seconds)
