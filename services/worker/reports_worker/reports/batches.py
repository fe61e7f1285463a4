"""Records in batches, rendered in this process or, side by side, in helper processes.

A report type that renders each record on its own (:class:`~.reporttype.BatchedReport`)
gets its records in batches of about 1 MB of payload. Each batch is decoded and rendered
by :func:`render_batch`: here, or in helper processes when the build may use more than
one core, so that a lone job on an idle machine uses every core. A batch travels as the
payload's bytes and comes back as the report's rendered part; the parts are handed to
the report in payload order, whatever order the helpers finish in, and at most a few
are in flight, so memory does not grow with the payload.

Helpers are forked from a server process started once (multiprocessing's forkserver):
never from the worker itself, whose threads may hold locks at any moment.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.forkserver
import os
import select
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from .decoding import RecordDecoder
from .errors import RecordRejected

if TYPE_CHECKING:
    from .reporttype import BatchedReport

#: Modules the helpers' server imports once, so that a helper starts ready.
PRELOAD = ["reports_worker.reports.batches", "reports_worker.reports.facturacion"]
_raw_list = msgspec.json.Decoder(list[msgspec.Raw])


@dataclass(frozen=True, slots=True)
class ArrayBatch:
    """Consecutive elements of the payload's array: their JSON text without brackets.

    The text is known to be valid JSON (the splitter decoded it once, as raw records):
    what can still go wrong is a record that does not fit the schema.
    """

    data: bytes
    first: int  # number of the first record (1-based, in payload order)
    count: int


@dataclass(frozen=True, slots=True)
class LineBatch:
    """Consecutive NDJSON records: each line with its line number and byte offset."""

    lines: list[tuple[bytes, int, int]]
    first: int

    @property
    def count(self) -> int:
        """Records in the batch."""
        return len(self.lines)


Batch = ArrayBatch | LineBatch


@dataclass(slots=True)
class BatchOutput:
    """A batch rendered: its records' count, those rejected, and the report's part."""

    count: int
    part: Any
    rejected: list[tuple[int, str, object]] = field(default_factory=list)


class Rejected:
    """Rejections of one batch, kept in payload order."""

    def __init__(self, reference_field: str | None) -> None:
        self._field = reference_field
        self.items: list[tuple[int, str, object]] = []

    def reject(self, position: int, reason: str, reference: object = None) -> None:
        """Record ``position`` is skipped because of ``reason``."""
        self.items.append((position, reason, reference))

    def reject_raw(self, position: int, reason: str, raw: Any) -> None:
        """A record that did not fit the schema; its reference read from its raw JSON."""
        self.reject(position, reason, reference_of(raw, self._field))


def reference_of(value: Any, field_name: str | None) -> object:
    """The identifier of a record that did not fit the schema, if it has one."""
    if field_name is None:
        return None
    if not isinstance(value, dict):
        try:
            value = msgspec.json.decode(value)
        except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
            return None
    found = value.get(field_name) if isinstance(value, dict) else None
    return found if isinstance(found, str | int) else None


@functools.cache
def _decoders(schema: Any) -> tuple[msgspec.json.Decoder[Any], RecordDecoder]:
    whole = msgspec.json.Decoder(list[schema], float_hook=Decimal)
    return whole, RecordDecoder(schema)


def decode_batch(schema: Any, batch: Batch, rejected: Rejected) -> Iterator[tuple[int, Any]]:
    """The batch's records that fit ``schema``, numbered; misfits go to ``rejected``."""
    whole, one = _decoders(schema)
    if isinstance(batch, LineBatch):
        for number, (line, line_number, offset) in enumerate(batch.lines, start=batch.first):
            try:
                yield number, one.from_line(line, line_number, offset)
            except RecordRejected as exc:
                rejected.reject_raw(number, exc.reason, line)
        return
    wrapped = b"[" + batch.data + b"]"
    try:  # the common case: every record fits, one call decodes them all
        records = whole.decode(wrapped)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        records = None
    if records is not None:
        yield from enumerate(records, start=batch.first)
        return
    for number, raw in enumerate(_raw_list.decode(wrapped), start=batch.first):
        try:
            yield number, one.from_raw(raw, number)
        except RecordRejected as exc:
            rejected.reject_raw(number, exc.reason, raw)


def render_batch(report: BatchedReport, batch: Batch) -> BatchOutput:
    """Decode and render one batch (in whichever process runs it)."""
    rejected = Rejected(report.reference_field)
    part = report.render(decode_batch(report.record_schema, batch, rejected), rejected)
    rejected.items.sort(key=lambda item: item[0])
    return BatchOutput(batch.count, part, rejected.items)


def rendered(
    report: BatchedReport, batches: Iterable[Batch], helpers: int
) -> Iterator[BatchOutput]:
    """Every batch rendered, in payload order, by this process and ``helpers`` others.

    The helpers are kept fed (two batches in hand each); this process hands on each part
    as soon as every earlier one is, and renders a batch itself only when it would
    otherwise wait for a helper. At most :data:`MAX_AHEAD` parts per process are held:
    memory stays flat.
    """
    if helpers <= 0:
        for batch in batches:
            yield render_batch(report, batch)
        return
    limit = MAX_AHEAD * (helpers + 1)
    upcoming = iter(batches)
    with ProcessPoolExecutor(
        helpers, mp_context=helper_context(), initializer=watch_parent, initargs=(os.getpid(),)
    ) as pool:
        pending: deque[Future[BatchOutput] | BatchOutput] = deque()
        more = True
        try:
            while more or pending:
                while more and len(pending) < limit and _in_hand(pending) < 2 * helpers:
                    following: Batch | None = next(upcoming, None)
                    more = following is not None
                    if following is not None:
                        pending.append(pool.submit(render_batch, report, following))
                if pending and _ready(pending[0]):
                    yield _result(pending.popleft())
                elif more and len(pending) < limit:
                    # The next part is not ready: render a batch here rather than wait.
                    following = next(upcoming, None)
                    more = following is not None
                    if following is not None:
                        pending.append(render_batch(report, following))
                elif pending:
                    yield _result(pending.popleft())
        finally:
            for item in pending:
                if isinstance(item, Future):
                    item.cancel()


#: Rendered parts held per process, at most, before the oldest is waited for.
MAX_AHEAD = 3


def _ready(item: Future[BatchOutput] | BatchOutput) -> bool:
    return not isinstance(item, Future) or item.done()


def _in_hand(pending: deque[Future[BatchOutput] | BatchOutput]) -> int:
    """Batches the helpers have and have not finished."""
    return sum(1 for item in pending if not _ready(item))


def _result(item: Future[BatchOutput] | BatchOutput) -> BatchOutput:
    return item.result() if isinstance(item, Future) else item


def watch_parent(pid: int) -> None:
    """In a helper: exit as soon as process ``pid``, the build's, is gone.

    A helper's parent is the fork server, which outlives a build killed with SIGKILL,
    and a helper blocks for ever on its work queue (it holds both ends of the pipe): so
    each helper watches the build's process itself.
    """
    try:
        handle = os.pidfd_open(pid)
    except OSError:  # kernels before 5.3: look once a second
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _alive(pid):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="watch-build", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


@functools.cache
def helper_context() -> Any:
    """The forkserver context helpers come from (its server started on first use)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_helper_server() -> None:
    """Start the helpers' server now (about 0.2 s), not during the first build."""
    helper_context()
    multiprocessing.forkserver.ensure_running()
