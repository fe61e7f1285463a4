"""Benchmark of report builds: seconds, records/s and peak memory per dataset size.

    uv run --group bench python bench/bench_reports.py [--sizes 45000 500000] [--repeat 3]

Datasets come from ``devstack.datasets`` and are cached in a temporary directory. Each
build runs in a child process of its own, so its peak RSS (from ``wait4``) is its own.
Engines: the product in one process (as every build runs by default), the product as a
lone job builds with ``AR_BUILD_PROCESSES=0`` (helper processes on every usable core, at
most 4), the best peer (``baseline_peer.py``:
polars + xlsxwriter, when polars is installed) and the old way (``baseline_naive.py``:
``json.load`` + pandas + openpyxl, the same files, when pandas is installed, up to
``--baseline-max`` records). Runs are interleaved (product, helpers, peer, old way, product,
...) so that a machine whose load drifts moves every engine alike; the summary gives each
engine's median and range. Results go to stdout and to ``bench/results/`` as JSON and
Markdown.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).parent / "results"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "async-reports-bench"
#: Engines beside the report type itself (which runs in one process).
HELPER_BUILD = "product-helpers"
PEER = "peer"
OLD_WAY = "baseline"


def dataset(cache: Path, size: int, *, gzip: bool, ndjson: bool) -> Path:
    """The cached dataset of ``size`` invoices, generated on first use."""
    from devstack.datasets import write_invoices

    suffix = (".ndjson" if ndjson else ".json") + (".gz" if gzip else "")
    path = cache / f"facturas-{size}{suffix}"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        write_invoices(partial, size, gzip=gzip, ndjson=ndjson)
        partial.rename(path)
        print(f"generated {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def child_build(
    path: Path, report: str, options: dict[str, str], processes: int = 1
) -> dict[str, Any]:
    """Run in the child: build the report and say how long it took."""
    from reports_worker.reporttypes import build_report

    dest = Path(tempfile.mkdtemp(prefix="bench-")) / "out.zip"
    started = time.perf_counter()
    with path.open("rb") as source:
        outcome = build_report(
            report,
            source,
            dest,
            job_id="bench-0000",
            options=options,
            max_input_bytes=2 << 30,
            processes=processes,
        )
    seconds = time.perf_counter() - started
    dest.unlink()
    dest.parent.rmdir()
    return {
        "seconds": seconds,
        "records": outcome.records_processed + outcome.records_rejected,
        "zipBytes": outcome.size_bytes,
    }


def helper_processes() -> int:
    """The processes a lone job's build uses with AR_BUILD_PROCESSES=0."""
    from reports_worker.machine import AUTO_MAX_PROCESSES, usable_cores

    return max(1, min(AUTO_MAX_PROCESSES, usable_cores()))


def child_baseline(path: Path, engine: str) -> dict[str, Any]:
    """Run in the child: the old way or the peer, building the same files into a ZIP."""
    if engine == PEER:
        import baseline_peer as module
    else:
        import baseline_naive as module  # type: ignore[no-redef]

    dest = Path(tempfile.mkdtemp(prefix="bench-")) / "out.zip"
    figures = module.build(path, dest)
    dest.unlink()
    dest.parent.rmdir()
    return {
        "seconds": figures["seconds"],
        "stages": figures["stages"],
        "records": figures["records"],
        "zipBytes": figures["zipBytes"],
    }


def measure(args: list[str]) -> dict[str, Any]:
    """Run this script as a child with ``args``; its result plus wall time and peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None and child.stderr is not None
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"child failed ({child.returncode}): {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out)
    result["wallSeconds"] = time.perf_counter() - started
    # CPU time is steadier than wall time on a shared machine (both threads included).
    result["cpuSeconds"] = usage.ru_utime + usage.ru_stime
    result["peakRssMB"] = usage.ru_maxrss / 1024  # Linux reports KiB
    result["loadAverage"] = os.getloadavg()[0]
    result["recordsPerSecond"] = result["records"] / result["seconds"]
    return result


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per size and engine: the median of its runs (build s, wall s, CPU s, peak RSS) and
    the range of its build seconds."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["size"], row["engine"]), []).append(row)
    medians: list[dict[str, Any]] = []
    for runs in groups.values():
        seconds = [run["seconds"] for run in runs]
        median = {
            key: statistics.median(run[key] for run in runs)
            for key in ("seconds", "wallSeconds", "cpuSeconds", "peakRssMB", "loadAverage")
        }
        medians.append(
            {
                **runs[0],
                **median,
                "runs": len(runs),
                "minSeconds": min(seconds),
                "maxSeconds": max(seconds),
                "recordsPerSecond": runs[0]["records"] / median["seconds"],
            }
        )
    return medians


def median_markdown(medians: list[dict[str, Any]]) -> str:
    """The medians as a Markdown table."""
    lines = [
        "| engine | records | runs | build s (median, min–max) | CPU s | peak RSS MB | load |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for row in medians:
        lines.append(
            f"| {row['engine']} | {row['records']:,} | {row['runs']} | {row['seconds']:.2f} "
            f"({row['minSeconds']:.2f}–{row['maxSeconds']:.2f}) | {row['cpuSeconds']:.2f} | "
            f"{row['peakRssMB']:.0f} | {row['loadAverage']:.1f} |"
        )
    return "\n".join(lines)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| engine | records | input MB | build s | wall s | CPU s | records/s | peak RSS MB "
        "| ZIP MB | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        zip_mb = f"{row['zipBytes'] / 1e6:.1f}" if row.get("zipBytes") else "-"
        lines.append(
            f"| {row['engine']} | {row['records']:,} | {row['inputBytes'] / 1e6:.0f} | "
            f"{row['seconds']:.2f} | {row['wallSeconds']:.2f} | {row['cpuSeconds']:.2f} | "
            f"{row['recordsPerSecond']:,.0f} | {row['peakRssMB']:.0f} | {zip_mb} | "
            f"{row['loadAverage']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parent: generate datasets, run one child per size, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[45_000, 500_000])
    parser.add_argument("--report", default="FacturacionMasiva")
    parser.add_argument("--csv-dialect", default=None)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--ndjson", action="store_true")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs per engine")
    parser.add_argument("--no-baseline", action="store_true", help="without the old way")
    parser.add_argument("--no-peer", action="store_true", help="without the best peer")
    parser.add_argument(
        "--no-helpers", action="store_true", help="without the product's build with helpers"
    )
    parser.add_argument(
        "--baseline-max",
        type=int,
        default=100_000,
        help="largest size the naive baseline runs at (it needs GBs of memory beyond)",
    )
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--options", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, path = args.child
        if kind in (OLD_WAY, PEER):
            result = child_baseline(Path(path), kind)
        else:
            result = child_build(Path(path), kind, json.loads(args.options), args.processes)
        print(json.dumps(result))
        return 0

    options = {"csvDialect": args.csv_dialect} if args.csv_dialect else {}
    # find_spec, not import: a child forked from a parent holding pandas would report
    # the parent's memory as its own peak (ru_maxrss counts the pages before exec).
    baseline = importlib.util.find_spec("pandas") is not None and not args.no_baseline
    if importlib.util.find_spec("pandas") is None:
        print("pandas is not installed: the naive baseline is skipped", file=sys.stderr)
    peer = importlib.util.find_spec("polars") is not None and not args.no_peer
    if importlib.util.find_spec("polars") is None:
        print("polars is not installed: the best peer is skipped", file=sys.stderr)
    processes = helper_processes()
    # The peer and the old way run only on FacturacionMasiva, the report they rebuild.
    invoices = args.report == "FacturacionMasiva"

    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        path = dataset(args.cache, size, gzip=args.gzip, ndjson=args.ndjson)
        engines: list[tuple[str, list[str]]] = [(args.report, ["--processes", "1"])]
        if not args.no_helpers and processes > 1:
            engines.append((HELPER_BUILD, ["--processes", str(processes)]))
        if peer and invoices:
            engines.append((PEER, []))
        if baseline and invoices and size <= args.baseline_max:
            engines.append((OLD_WAY, []))
        # Interleaved, not one engine's runs then the next's: a drifting load moves all alike.
        for _ in range(args.repeat):
            for engine, extra in engines:
                kind = args.report if engine == HELPER_BUILD else engine
                child = ["--child", kind, str(path), "--options", json.dumps(options), *extra]
                try:
                    result = measure(child)
                except RuntimeError as exc:
                    print(f"{engine} at {size:,} failed: {exc}", file=sys.stderr)
                    continue
                result.update(engine=engine, size=size, inputBytes=path.stat().st_size)
                rows.append(result)
                print(markdown([result]).splitlines()[-1], file=sys.stderr)

    medians = summary(rows)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "defaultProcesses": processes,
        },
        "input": {"gzip": args.gzip, "ndjson": args.ndjson, "options": options},
        "results": rows,
        "medians": medians,
    }
    table = median_markdown(medians) + "\n\n" + markdown(rows)
    print(json.dumps(report, indent=2))
    print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS_DIR / f"reports-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS_DIR / f"reports-{stamp}.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
