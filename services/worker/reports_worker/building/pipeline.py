"""One build: payload in, ZIP out, with progress, rejections and the manifest."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from reports_shared.errors import InvalidPayload
from reports_shared.reportcopy import job_tag

from ..formats.csv import CSV_DIALECTS
from ..formats.zip.archive import ReportFiles
from ..input.batches import Batch
from ..input.content import Source
from ..input.decoding import decode_batch
from ..input.payload import Payload
from .context import Batched, BuildContext, BuildResult, Record, Report
from .helpers import rendered
from .rejections import Rejections

#: Default cap on the decompressed payload: the contract's 500 MB with some room.
DEFAULT_MAX_INPUT_BYTES = 1 << 30

Progress = Callable[[int, int], None]
#: Progress is reported every this many records of a report type that takes records one by
#: one (the caller throttles further). It is also where a cancelled or superseded run
#: stops, so it stays small: a plug-in that spends 5 ms a record still stops within 0.5 s.
PROGRESS_EVERY = 100
_EMPTY = "La lista de registros está vacía: no hay nada que procesar."


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    """What a finished build produced: counts, the ZIP's name, size and digest, the manifest."""

    records_processed: int
    records_rejected: int
    file_name: str
    size_bytes: int
    sha256: str
    manifest: dict[str, Any]


def run_report(
    report: Report,
    source: Source,
    dest: Path,
    *,
    job_id: str,
    progress: Progress | None = None,
    generated_at: datetime | None = None,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    processes: int = 1,
) -> BuildOutcome:
    """Run an already configured report type; the ZIP is complete at ``dest`` or absent.

    ``processes`` above 1: a :class:`~.context.Batched` report renders its batches here and in
    ``processes - 1`` helper processes at once (other report types ignore it).
    """
    moment = _utc(generated_at)
    dest = Path(dest)
    try:
        with TemporaryDirectory(prefix=".report-", dir=dest.parent) as workdir:
            files = ReportFiles(Path(workdir), dest)
            try:
                result, rejections = _build(
                    report,
                    source,
                    files,
                    _Run(job_id, moment, max_input_bytes, progress or _ignore, processes),
                )
                manifest = files.pack(
                    _manifest_head(report, job_id, moment, result, rejections.count)
                )
            except BaseException:
                files.abort()
                raise
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    size, digest = _digest(dest)
    return BuildOutcome(
        records_processed=result.records_processed,
        records_rejected=rejections.count,
        file_name=zip_name(report.file_stem, moment, job_id),
        size_bytes=size,
        sha256=digest,
        manifest=manifest,
    )


@dataclass(frozen=True, slots=True)
class _Run:
    """How one build runs."""

    job_id: str
    moment: datetime
    max_input_bytes: int
    progress: Progress
    processes: int


def _build(
    report: Report, source: Source, files: ReportFiles, run: _Run
) -> tuple[BuildResult, Rejections]:
    """Read, decode and hand the records to the report type; fail if none was usable."""
    rejections = Rejections(files, CSV_DIALECTS[report.options["csvDialect"]])
    try:
        payload = Payload(source, max_input_bytes=run.max_input_bytes)
        context = BuildContext(run.job_id, run.moment, report.options, files, rejections)
        if isinstance(report, Batched):
            helpers = max(0, run.processes - 1)  # this process renders too
            parts = _parts(report, payload, rejections, run.progress, helpers)
            with closing(parts):  # stops the helpers at once if the report fails
                result = report.assemble(parts, context)
                _require_consumed(report, parts)
        else:
            records = _records(report, payload, rejections, run.progress)
            result = report.build(records, context)
            _require_consumed(report, records)
    finally:
        rejections.close()
    _require_usable(result.records_processed, rejections)
    return result, rejections


def _manifest_head(
    report: Report, job_id: str, moment: datetime, result: BuildResult, rejected: int
) -> dict[str, Any]:
    """manifest.json without its list of files, in the contract's order (notes if any)."""
    head: dict[str, Any] = {
        "reportType": report.name,
        "jobId": job_id,
        "generatedAt": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recordsProcessed": result.records_processed,
        "recordsRejected": rejected,
        "totals": result.totals,
    }
    if result.notes:
        head["notes"] = list(result.notes)
    return head


def zip_name(stem: str, moment: datetime, job_id: str) -> str:
    """``<stem>_<yyyymmdd>_<first 8 safe characters of the job id>.zip``."""
    return f"{stem}_{moment:%Y%m%d}_{job_tag(job_id)}.zip"


def _ignore(records: int, raw_bytes: int) -> None:
    """A progress callback that ignores progress."""


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC).replace(microsecond=0)
    if moment.tzinfo is None:  # a naive time is taken as UTC already
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _records(
    report: Report, payload: Payload, rejections: Rejections, progress: Progress
) -> Iterator[Record]:
    """The payload's records decoded into the report's schema; misfits go to rejections."""
    number, done = 0, 0
    ends: deque[int] = deque()
    for batch in _noted(payload, ends, progress):
        end = ends.popleft()
        for record in decode_batch(report, batch, rejections):
            if record[0] % PROGRESS_EVERY == 0:  # the batch's bytes shared out by record
                progress(record[0], done + (end - done) * (record[0] - batch.first) // batch.count)
            yield record
        number += batch.count
        done = end
    progress(number, done)
    if number == 0:
        raise InvalidPayload(_EMPTY)


def _noted(payload: Payload, ends: deque[int], progress: Progress) -> Iterator[Batch]:
    """The payload's batches, each noting in ``ends`` the payload bytes read once it was cut;
    a first figure of none done says when the reading began (the set-up is over).

    Progress counts a batch's bytes once it is done, not once it is read: a build reads
    ahead (several batches each with helpers, which then hand their parts on in bursts), and
    figures of bytes read ran ahead of the work (a queued job was told it would start at
    once, behind two jobs with 10 s left).
    """
    for index, batch in enumerate(payload.batches()):
        if index == 0:
            progress(0, 0)
        ends.append(payload.raw.bytes_read)
        yield batch


def _parts(
    report: Batched,
    payload: Payload,
    rejections: Rejections,
    progress: Progress,
    helpers: int,
) -> Generator[Any, None, None]:
    """The report's parts, batch by batch, in order; rejections written as they come."""
    number = 0
    ends: deque[int] = deque()
    for output in rendered(report, _noted(payload, ends, progress), helpers):
        for position, reason, reference in output.rejected:
            rejections.reject(position, reason, reference)
        number += output.count
        progress(number, ends.popleft())
        yield output.part
    if number == 0:
        raise InvalidPayload(_EMPTY)


def _require_consumed(report: Report, stream: Iterator[Any]) -> None:
    if next(stream, None) is not None:
        raise RuntimeError(f"{report.name} stopped before the last record")


def _require_usable(processed: int, rejections: Rejections) -> None:
    if processed == 0 and rejections.first is not None:
        position, reason = rejections.first
        raise InvalidPayload(
            f"Ningún registro es utilizable: los {rejections.count:,} registros fueron "
            f"rechazados. El primero (registro {position}): {reason}"
        )


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as packed:
        while chunk := packed.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
