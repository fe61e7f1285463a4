"""The status of a job, decoded and viewed once per version of it.

A client polls its job over and over while the job does not change. Each api process
keeps, per job it answered lately, the hash it last read, the record decoded from it and
the view last made of that record with the parts that do not come from the hash (queue
position, download token, estimate). Every status still reads the hash (the one round
trip, and the truth): when it is the same as the kept one, the record is not decoded
again, and when the other parts are the same too, the view is not made again, nor encoded:
the status sends the bytes of the response made of it last. So nothing kept is ever older
than what the request read: a job that changed is decoded afresh.
Every lookup of a job by its id (status, download, cancel, events, webhooks) goes through
the kept records (``lookup.read_job``); only the status keeps its view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import MediaType, Response
from litestar.response.base import ASGIResponse
from litestar.serialization import encode_json

from reports_shared.jobs import JobRecord
from reports_shared.jobstore.records import decode_record

from .estimates import Estimate
from .views import JobStatusView, job_view, tenths

#: What a view depends on beside the record: queue position, download token and the
#: estimates as shown (to the tenth of a second).
Parts = tuple[int | None, str | None, float | None, float | None]


class StatusResponse(Response[Any]):
    """A status (200) encoded once, as Litestar would encode ``Response(view, headers=...)``
    on a route with no headers, cookies or type encoders of its own (the status' route):
    sent as it is by every request that shows the same view with the same headers."""

    __slots__ = ("_prepared",)

    def __init__(self, view: JobStatusView, headers: dict[str, str]) -> None:
        super().__init__(view, headers=headers)
        self._prepared = ASGIResponse(
            body=encode_json(view), headers=headers, media_type=MediaType.JSON
        )

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        """The response made once (it keeps nothing of a request: any may send it)."""
        return self._prepared


@dataclass(slots=True)
class _Kept:
    """One job's hash as read, its record, and the last view made of them, with the
    response last made of that view."""

    stored: Mapping[bytes, bytes]
    record: JobRecord
    parts: Parts | None = None
    view: JobStatusView | None = None
    response: StatusResponse | None = None


class StatusViews:
    """The last status view of each job this process answered (the record is shared
    between requests: nothing may change it)."""

    #: Jobs kept, up to this many (then the one kept longest ago is forgotten).
    MEMORY = 1024

    def __init__(self, memory: int = MEMORY) -> None:
        self.memory = memory
        self._kept: dict[str, _Kept] = {}

    def record(self, job_id: str, stored: Mapping[bytes, bytes]) -> JobRecord | None:
        """The record in ``stored``, a job's hash as just read (None if empty): the one
        decoded last time when the hash is the same."""
        kept = self._kept.get(job_id)
        if kept is not None and kept.stored == stored:
            return kept.record
        self._kept.pop(job_id, None)  # kept again below, as the newest
        record = decode_record(stored)
        if record is None:
            return None
        if len(self._kept) >= self.memory:
            del self._kept[next(iter(self._kept))]  # dicts keep their insertion order
        self._kept[job_id] = _Kept(stored, record)
        return record

    def view(
        self,
        record: JobRecord,
        queue_position: int | None,
        download_token: str | None,
        estimate: Estimate,
    ) -> JobStatusView:
        """The view of ``record`` (as :func:`job_view` makes it), the last one made when
        nothing it shows has changed."""
        return self._viewed(record, queue_position, download_token, estimate)[1]

    def response(
        self,
        record: JobRecord,
        queue_position: int | None,
        download_token: str | None,
        estimate: Estimate,
        headers: dict[str, str],
    ) -> StatusResponse:
        """The status of ``record`` with ``headers``: the response last made when its view
        (see :meth:`view`) and headers are the same."""
        kept, view = self._viewed(record, queue_position, download_token, estimate)
        if kept is None:
            return StatusResponse(view, headers)
        if kept.response is None or kept.response.headers != headers:
            kept.response = StatusResponse(view, headers)
        return kept.response

    def _viewed(
        self,
        record: JobRecord,
        queue_position: int | None,
        download_token: str | None,
        estimate: Estimate,
    ) -> tuple[_Kept | None, JobStatusView]:
        """The view of ``record`` (see :meth:`view`), with the entry that keeps it: None when
        ``record`` is not the one kept (then nothing keeps the view)."""
        parts = (
            queue_position,
            download_token,
            tenths(estimate.seconds_left),
            tenths(estimate.start_in),
        )
        kept = self._kept.get(record.job_id)
        if kept is None or kept.record is not record:
            return None, job_view(record, queue_position, download_token, estimate)
        if kept.view is None or kept.parts != parts:
            kept.view = job_view(record, queue_position, download_token, estimate)
            kept.parts = parts
            kept.response = None
        return kept, kept.view
