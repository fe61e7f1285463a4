"""Batches rendered in this process or, side by side, in helper processes.

A report type that renders each record on its own (a batched report) gets its records
in batches of about 1 MB of payload. Each batch is decoded and rendered by
:func:`render_batch`: here, or in helper processes when the build may use more than
one core, so that a lone job on an idle machine uses every core. A batch travels as the
payload's bytes and comes back as the report's rendered part; the parts are handed to
the report in payload order, whatever order the helpers finish in, and at most a few
are in flight, so memory does not grow with the payload. The helpers come from
:mod:`.forkserver`.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

from ..input.batches import Batch
from ..input.decoding import decode_batch
from .context import Batched
from .forkserver import helper_context, watch_parent


@dataclass(slots=True)
class BatchOutput:
    """A batch rendered: its records' count, those rejected, and the report's part."""

    count: int
    part: Any
    rejected: list[tuple[int, str, object]] = field(default_factory=list)


class Rejected:
    """Rejections of one batch rendered away from the build's files, kept for it."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str, object]] = []

    def reject(self, position: int, reason: str, reference: object = None) -> None:
        """Record ``position`` is skipped because of ``reason``."""
        self.items.append((position, reason, reference))


def render_batch(report: Batched, batch: Batch) -> BatchOutput:
    """Decode and render one batch (in whichever process runs it)."""
    rejected = Rejected()
    part = report.render(decode_batch(report, batch, rejected), rejected)
    rejected.items.sort(key=lambda item: item[0])
    return BatchOutput(batch.count, part, rejected.items)


def rendered(report: Batched, batches: Iterable[Batch], helpers: int) -> Iterator[BatchOutput]:
    """Every batch rendered, in payload order, by this process and ``helpers`` others.

    The helpers are kept fed (:data:`IN_HAND` batches each); this process hands on each part
    as soon as every earlier one is, and renders a batch itself only when it would
    otherwise wait for a helper. At most :data:`MAX_AHEAD` parts per process are held:
    memory stays flat. A payload of one batch is rendered here, without helpers.

    Whoever renders a batch, the outcome is the same: an error (a record, the payload
    further on) is raised when the parts before it are handed on, as it would be in one
    process; a helper that dies (the OOM killer) leaves its batches to this process.
    """
    upcoming = iter(batches)
    first = next(upcoming, None)
    second = next(upcoming, None) if first is not None and helpers > 0 else None
    if second is None:  # one batch at most, or no helper: nothing to share
        if first is not None:
            yield render_batch(report, first)
        for batch in upcoming:
            yield render_batch(report, batch)
        return
    assert first is not None
    yield from _shared(report, chain((first, second), upcoming), helpers)


def _shared(report: Batched, upcoming: Iterator[Batch], helpers: int) -> Iterator[BatchOutput]:
    limit = MAX_AHEAD * (helpers + 1)
    with ProcessPoolExecutor(
        helpers, mp_context=helper_context(), initializer=watch_parent, initargs=(os.getpid(),)
    ) as pool:
        roomy_results(pool)
        pending: deque[_Slot] = deque()
        more, broken = True, False

        def take() -> Batch | None:
            """The next batch; an error reading the payload waits its turn in ``pending``."""
            nonlocal more
            try:
                following = next(upcoming, None)
            except Exception as exc:
                following = None
                pending.append(_Slot(None, _failed(exc)))
            more = following is not None
            return following

        def send(batch: Batch) -> None:
            nonlocal broken
            if not broken:
                try:
                    pending.append(_Slot(batch, pool.submit(render_batch, report, batch)))
                    return
                except BrokenProcessPool:
                    broken = True
            pending.append(_Slot(batch, _here(report, batch)))

        def result(slot: _Slot) -> BatchOutput:
            nonlocal broken
            if isinstance(slot.value, BatchOutput):
                return slot.value
            try:
                return slot.value.result()
            except BrokenProcessPool:
                if slot.batch is None:
                    raise
                if not broken:
                    _log_helper_died(helpers)
                broken = True
                return render_batch(report, slot.batch)

        try:
            while more or pending:
                while more and not broken and len(pending) < limit:
                    if _in_hand(pending) >= IN_HAND * helpers or (following := take()) is None:
                        break
                    send(following)
                if pending and pending[0].ready():
                    yield result(pending.popleft())
                elif more and len(pending) < limit:
                    # The next part is not ready: render a batch here rather than wait.
                    if (following := take()) is not None:
                        pending.append(_Slot(following, _here(report, following)))
                elif pending:
                    yield result(pending.popleft())
        finally:
            for slot in pending:
                if isinstance(slot.value, Future):
                    slot.value.cancel()


@dataclass(slots=True)
class _Slot:
    """A batch on its way: rendered, being rendered by a helper, or failed."""

    batch: Batch | None
    value: Future[BatchOutput] | BatchOutput

    def ready(self) -> bool:
        return not isinstance(self.value, Future) or self.value.done()


def _here(report: Batched, batch: Batch) -> Future[BatchOutput] | BatchOutput:
    """The batch rendered in this process; its error kept for its turn."""
    try:
        return render_batch(report, batch)
    except Exception as exc:
        return _failed(exc)


def _failed(error: Exception) -> Future[BatchOutput]:
    failed: Future[BatchOutput] = Future()
    failed.set_exception(error)
    return failed


#: Rendered parts held per process, at most, before the oldest is waited for.
MAX_AHEAD = 3
#: Batches each helper has been handed and not finished: one being rendered, the others
#: waiting, so that a helper still has work while this process renders one of its own
#: and hands on the parts before it (with the larger result pipe, two and three measured
#: alike at 45,000 invoices; three leaves room for a slower part).
IN_HAND = 3
#: Bytes the pipe of the helpers' results holds: a whole part of a batch, about 1 MB.
RESULT_PIPE_BYTES = 1 << 20


def roomy_results(pool: ProcessPoolExecutor) -> int | None:
    """Let the pipe that brings the helpers' parts hold a part whole; its size, if known.

    A part (~1 MB of rendered text) came through Linux's default 64 KiB pipe: the
    executor's thread that receives it took the GIL back after every 64 KiB read, each
    time waiting up to the 5 ms switch interval while this process rendered or wrote,
    and the helper, blocked on its write meanwhile, sat idle (its CPU was half its
    wall time). A larger pipe takes a few reads. Off Linux, on another Python's executor,
    or past ``/proc/sys/fs/pipe-max-size`` the pipe stays as it is.
    """
    reader = getattr(getattr(pool, "_result_queue", None), "_reader", None)
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if reader is None or setting is None:
        return None
    try:
        return int(fcntl.fcntl(reader.fileno(), setting, RESULT_PIPE_BYTES))
    except OSError:  # EPERM past the system's pipe-max-size or the user's pipe pages
        return None


def _log_helper_died(helpers: int) -> None:
    # structlog imported here, in the build's process only: it draws in rich, which
    # would cost every helper (and the fork server) several MB.
    import structlog

    structlog.get_logger(__name__).warning("build_helper_died", helpers=helpers)


def _in_hand(pending: deque[_Slot]) -> int:
    """Batches the helpers have and have not finished."""
    return sum(1 for slot in pending if not slot.ready())
