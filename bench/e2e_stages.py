"""Where a worker's processing time goes: the report build split into stages, and S3.

    uv run python bench/e2e_stages.py DATASET.json OUT.zip

Runs ``build_report`` on a local file in this process: once in this process alone (the
reference time), once in two processes (itself and a helper, as a worker alone on a
2-core machine builds), once alone with timers wrapped around the builder's functions
(classes and functions patched here, in memory only; the builder is not edited). Each
stage is timed at its outermost call, so nothing is counted twice:

* ``parse``: reading the payload, the nesting guard, cutting the array into batches,
  msgspec decoding (the time spent fetching the next batch, and the next records of a
  batch);
* ``price``: checking and pricing an invoice exactly and, for most invoices, rendering
  its lines of ``facturas_detalle.csv`` and adding them to their rate's sums in the same
  pass (in C, ``_lines.c``; an invoice it leaves is priced in decimal, its lines rendered
  in ``csv``); ``totals``: the sums;
* ``xlsx``: rendering Facturas rows and finishing the workbook;
* ``csv``: rendering and writing the two CSV files (``facturas_detalle.csv`` is deflated
  into the ZIP by a background thread as it is written: its deflate overlaps, and shows
  here only where the writer waits for it);
* ``zip``: packing the remaining files into the ZIP and its SHA-256;
* ``other``: the rest (the loop itself, the summary, set-up).

The worker's processing time also holds reading the payload from S3 (overlapping the
parse, since it is streamed) and uploading the ZIP to S3: :func:`s3_transfer` times both
when ``AR_S3_*`` name a bucket, and how much they raise the peak RSS of a process (what
the worker's S3 client adds to its memory at the end of a job).
"""

from __future__ import annotations

import functools
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reports_shared.objectstore import ObjectStore
from reports_shared.settings import CommonSettings, load_settings

#: (module, class or None, attribute, stage) of the builder functions to time.
_TIMED = (
    ("reporttypes.facturacion.report", None, "price_invoice", "price"),
    ("reporttypes.facturacion.totals", "InvoiceTotals", "add", "totals"),
    ("reporttypes.facturacion.totals", "InvoiceTotals", "merge", "totals"),
    ("reporttypes.facturacion.report", None, "invoice_row", "xlsx"),
    ("formats.xlsx.sheetcells", "RowTemplate", "render", "xlsx"),
    ("formats.xlsx.spreadsheetml", "SpreadsheetTable", "append_prepared", "xlsx"),
    ("formats.xlsx.spreadsheetml", "SpreadsheetTable", "close", "xlsx"),
    ("formats.xlsx.spreadsheetml", "SpreadsheetWorkbook", "close", "xlsx"),
    ("reporttypes.facturacion.report", "InvoiceLines", "details", "csv"),
    ("formats.csv", "CsvTable", "write_lines", "csv"),
    ("formats.csv", "CsvTable", "write_encoded", "csv"),
    ("formats.csv", "CsvTable", "close", "csv"),
    ("formats.zip.archive", "ReportFiles", "pack", "zip"),
    ("building.pipeline", None, "_digest", "zip"),
)
STAGES = ("parse", "price", "totals", "xlsx", "csv", "zip", "other")


class Timers:
    """Seconds per stage, counted at the outermost timed call only."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self.depth = 0
        self.missing: list[str] = []

    def wrap(self, function: Callable[..., Any], stage: str) -> Callable[..., Any]:
        """``function`` with its time added to ``stage``."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self.depth:
                return function(*args, **kwargs)
            self.depth += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started
                self.depth -= 1

        return timed

    def wrap_records(self, function: Callable[..., Iterator[Any]]) -> Callable[..., Any]:
        """The builder's record generator, with the time of each ``next`` as parse."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            inner = function(*args, **kwargs)
            while True:
                started = time.perf_counter()
                try:
                    value = next(inner)
                except StopIteration:
                    self.seconds["parse"] += time.perf_counter() - started
                    return
                self.seconds["parse"] += time.perf_counter() - started
                yield value

        return timed


def instrument(timers: Timers) -> None:
    """Patch the builder's functions (in this process) so that ``timers`` times them."""
    import importlib

    package = "reports_worker"
    payload = importlib.import_module(f"{package}.input.payload")
    helpers = importlib.import_module(f"{package}.building.helpers")
    payload.Payload.batches = timers.wrap_records(payload.Payload.batches)
    # decode_batch is helpers' own import (not re-exported), replaced where helpers calls it
    helpers.decode_batch = timers.wrap_records(helpers.decode_batch)  # type: ignore[attr-defined]
    report = importlib.import_module(f"{package}.reporttypes.facturacion.report")
    native = report.Lines

    class TimedLines:
        """The C type's methods cannot be patched: each instance is wrapped instead."""

        def __init__(self, *args: Any) -> None:
            lines = native(*args)
            self.price_all = timers.wrap(lines.price_all, "price")
            self.take = timers.wrap(lines.take, "price")
            self.add = lines.add
            self.rates = timers.wrap(lines.rates, "totals")
            self.invoice = timers.wrap(lines.invoice, "csv")

    report.Lines = TimedLines  # type: ignore[attr-defined]
    for module_name, class_name, attribute, stage in _TIMED:
        module = importlib.import_module(f"{package}.{module_name}")
        owner = getattr(module, class_name, None) if class_name else module
        original = getattr(owner, attribute, None) if owner is not None else None
        if original is None:
            timers.missing.append(f"{module_name}.{class_name or ''}.{attribute}")
            continue
        setattr(owner, attribute, timers.wrap(original, stage))


def _build(source: Path, dest: Path, processes: int = 1) -> tuple[float, float, int, int]:
    """Wall and CPU seconds (this process, all threads) of one build, records, ZIP bytes."""
    from reports_worker.reporttypes import build_report

    started, cpu = time.perf_counter(), time.process_time()
    with source.open("rb") as payload:
        outcome = build_report(
            "FacturacionMasiva",
            payload,
            dest,
            job_id="bench-stages",
            max_input_bytes=2 << 30,
            processes=processes,
        )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, outcome.records_processed, outcome.size_bytes


def _two_processes(source: Path, dest: Path) -> float:
    """Seconds of the build in two processes, the helpers' fork server already warm."""
    import io

    from devstack.datasets import write_invoices
    from reports_worker.reporttypes import build_report

    small = io.BytesIO()
    write_invoices(small, 2000, seed=1)  # two batches: a helper starts and renders one
    small.seek(0)
    build_report("FacturacionMasiva", small, dest, job_id="warm-up", processes=2)
    return _build(source, dest, processes=2)[0]


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: ``ru_maxrss`` would include the parent's at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def profile(source: Path, dest: Path) -> dict[str, Any]:
    """Build once plain, once timed by stage; the figures, with this process's peak RSS."""
    plain_s, plain_cpu, records, zip_bytes = _build(source, dest)
    peak_build = _peak_rss_mb()
    two_s = _two_processes(source, dest)
    timers = Timers()
    instrument(timers)
    timed_s, _, _, _ = _build(source, dest)
    timers.seconds["other"] = max(0.0, timed_s - sum(timers.seconds.values()))
    return {
        "records": records,
        "buildSeconds": round(plain_s, 3),
        "buildCpuSeconds": round(plain_cpu, 3),
        "buildPeakRssMB": peak_build,
        "buildSecondsTwoProcesses": round(two_s, 3),
        "instrumentedSeconds": round(timed_s, 3),
        "stages": {stage: round(value, 3) for stage, value in timers.seconds.items()},
        "zipBytes": zip_bytes,
        "notTimed": timers.missing,
    }


def _reset_peak_rss() -> float:
    """Start VmHWM again from the current RSS (Linux ``clear_refs``); the RSS now in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _peak_rss_mb()


def s3_transfer(objects: ObjectStore, dataset: Path, zip_path: Path) -> dict[str, float]:
    """Seconds to stream the payload from S3 (as the worker reads it) and to upload the ZIP
    (as the worker does, with the same client); how much both raise this process's RSS."""
    key = "bench/stages-payload"
    objects.put_file(key, str(dataset), content_type="application/json")
    gc.collect()
    before = _reset_peak_rss()
    started = time.perf_counter()
    with objects.open(key) as reader:
        while reader.read(1 << 20):
            pass
    get_s = time.perf_counter() - started
    objects.delete(key)
    started = time.perf_counter()
    objects.put_file("bench/stages-result.zip", str(zip_path))
    put_s = time.perf_counter() - started
    objects.delete("bench/stages-result.zip")
    return {"s3GetPayloadSeconds": round(get_s, 3), "s3PutZipSeconds": round(put_s, 3),
            "s3PeakRssGrowthMB": round(_peak_rss_mb() - before, 1)}  # fmt: skip


def main() -> None:
    """Child: profile one dataset; then, if AR_S3_* name a bucket, time S3; one JSON line."""
    dataset, zip_path = Path(sys.argv[1]), Path(sys.argv[2])
    result = profile(dataset, zip_path)
    if os.environ.get("AR_S3_ENDPOINT"):
        settings = load_settings(CommonSettings, os.environ)
        result |= s3_transfer(ObjectStore.from_settings(settings), dataset, zip_path)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
