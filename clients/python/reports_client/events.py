"""A job's live status: the service's Server-Sent Events stream, read with httpx-sse."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
from httpx_sse import connect_sse

from .models import Job

#: Name of the events that carry a job's status.
STATUS_EVENT = "status"
#: The service writes at least every 15 s (a keep-alive); silence past this means trouble.
READ_TIMEOUT_SECONDS = 45.0


def job_events(
    http: httpx.Client,
    url: str,
    error_for: Callable[[httpx.Response], Exception],
    read_timeout: float = READ_TIMEOUT_SECONDS,
) -> Iterator[Job]:
    """Each status the stream at ``url`` sends, until the service ends it."""
    timeout = httpx.Timeout(http.timeout.connect or 10.0, read=read_timeout)
    with connect_sse(http, "GET", url, timeout=timeout) as source:
        if source.response.status_code != 200:
            source.response.read()
            raise error_for(source.response)
        for event in source.iter_sse():
            if event.event == STATUS_EVENT:
                yield Job.from_json(event.json())
