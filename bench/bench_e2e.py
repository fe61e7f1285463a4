"""End-to-end benchmark: FacturacionMasiva datasets through the real stack, and the old way.

    uv run --group bench python bench/bench_e2e.py            # the full run (~20 min)
    uv run --group bench python bench/bench_e2e.py --sizes 45000 --repeat 5

Starts a stack of its own (S3 server, api, two workers, janitor, as real processes in a
namespace of their own, report cache off) and, for each dataset size, uploads the
dataset as a client would, polls the status and downloads the ZIP, timing each step and
sampling the RSS of the api and of the worker process trees with psutil. Then, in the
same run: where a worker's time goes (stages), several jobs queued at once (jobs/minute
under the cap of 2), status polling from a separate load generator (wrk, else Python
processes), the best peer (polars + xlsxwriter) and the old way (one process, pandas +
openpyxl) for comparison, and the status endpoint beside a bare Litestar + Redis one
(status_vs_bare.py, when wrk is installed). Writes
``e2e-<time>.json`` (every run), ``.md`` (tables) and ``.png`` (chart) under
``bench/results/``; see bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import baseline_naive
import e2e_render as render
import httpx
from e2e_client import JobRun, run_job
from e2e_load import polling_under_load, throughput
from e2e_memory import CpuMeter, MemorySampler, wait_for_quiet
from e2e_report import (
    QUOTED_SEED,
    machine,
    quoted_ratios,
    ratios,
    status_targets,
    summarise,
    targets,
)
from e2e_stack import BenchStack, start_stack
from status_vs_bare import compare as status_vs_bare
from status_vs_bare import table as status_table

from devstack.datasets import write_invoices

RESULTS_DIR = Path(__file__).parent / "results"
DATASET_CACHE = Path(tempfile.gettempdir()) / "async-reports-bench-e2e"
#: 600,000 generated invoices are about 490 MB, under the api's 500 MiB limit.
DEFAULT_SIZES = [45_000, 200_000, 600_000]
WARM_UP_RECORDS = 500


#: Before each measured run: wait up to QUIET[1] s for other work to fall under QUIET[0]
#: cores (set by --quiet-cores and --quiet-wait).
QUIET = [0.3, 90.0]


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def dataset(cache: Path, records: int) -> Path:
    """The dataset of ``records`` invoices (its own seed per size), generated on first use."""
    path = cache / f"facturas-{records}-seed{records}.json"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        write_invoices(partial, records, seed=records)
        partial.rename(path)
        log(f"generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    return path


@contextmanager
def warm_stack(
    args: argparse.Namespace, scratch: Path, label: str, extra_env: dict[str, str] | None = None
) -> Iterator[BenchStack]:
    """A stack of its own, warmed up by one small job; its log tail printed if a measurement
    fails; stopped after."""
    stack = start_stack(scratch, workers=args.workers, extra_env=extra_env)
    log(f"{label} up at {stack.url} (namespace {stack.env['AR_NAMESPACE']})")
    try:
        # imports, connections, bucket
        measure_e2e(stack, dataset(args.cache, WARM_UP_RECORDS), WARM_UP_RECORDS, 1, scratch)
        yield stack
    except BaseException:
        print(stack.log_tail(), file=sys.stderr)
        raise
    finally:
        stack.stop()


def measure_e2e(
    stack: BenchStack,
    path: Path,
    records: int,
    repeat: int,
    scratch: Path,
    between: Callable[[int], None] | None = None,
    *,
    label: str = "stack",
) -> list[dict[str, Any]]:
    """``repeat`` jobs of one dataset, one at a time, each with its own memory sampler;
    ``between(index)`` runs after each (the baselines and the helper stack's runs,
    interleaved with the stack's)."""
    groups = {"api": lambda: stack.service_pids("api"),
              "worker": lambda: stack.service_pids("worker")}  # fmt: skip
    runs = []
    with httpx.Client(base_url=stack.url, timeout=1800) as client:
        for index in range(repeat):
            quiet = wait_for_quiet(stack.cpu_groups(), *QUIET)
            with CpuMeter(stack.cpu_groups()) as cpu, MemorySampler(groups) as sampler:
                run = run_job(client, JobRun(path, records, scratch), sampler)
            run |= cpu.figures | quiet
            runs.append(run)
            log(f"{label} {records:,} #{index + 1}: total {run['totalSeconds']} s, processing "
                f"{run['processingSeconds']} s, worker tree {run['workerTreePeakRssMB']} MB, "
                f"api {run['apiUploadPeakRssMB']} MB")  # fmt: skip
            if between is not None:
                between(index)
    return runs


def measure_stages(stack: BenchStack, path: Path, scratch: Path) -> dict[str, Any]:
    """Stages of one build (in a child process) and the S3 transfers of the worker."""
    zip_path = scratch / "stages.zip"
    child = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("e2e_stages.py")), str(path), str(zip_path)],
        capture_output=True, text=True, check=False, env={**os.environ, **stack.env},
    )  # fmt: skip
    if child.returncode != 0:
        raise RuntimeError(f"stage profile failed: {child.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(child.stdout)
    zip_path.unlink(missing_ok=True)
    return result


#: The baselines measured beside the stack: key in the results, script, label.
BASELINES = (
    ("peer", Path(__file__).with_name("baseline_peer.py"), "best peer"),
    ("baseline", Path(baseline_naive.__file__), "old way"),
)


class Baselines:
    """The best peer and the old way for one size, run one at a time between the stack's
    jobs (so that a machine whose load drifts moves them all alike)."""

    def __init__(
        self, args: argparse.Namespace, sizes: list[int], path: Path, records: int
    ) -> None:
        """Which baselines run on ``path`` (``records`` invoices), how many times, or why not."""
        self.path, self.records, self.timeout = path, records, args.baseline_timeout
        times = args.repeat if records <= args.baseline_repeat_up_to else 1
        self.entries: dict[str, dict[str, Any]] = {}
        self.times: dict[str, int] = {}
        for key, _, _ in BASELINES:
            note = self._why_not(args, sizes, key)
            self.entries[key] = {"runs": [], "summary": None, "note": note}
            self.times[key] = 0 if note else times

    def _why_not(self, args: argparse.Namespace, sizes: list[int], key: str) -> str | None:
        """Why the baseline ``key`` is not run at this size, or None."""
        if key == "peer":
            if args.no_peer:
                return "not run (--no-peer)"
            missing = [n for n in ("polars", "xlsxwriter") if importlib.util.find_spec(n) is None]
            return f"not run: {missing[0]} is not installed" if missing else None
        if args.no_baseline:
            return "not run (--no-baseline)"
        if args.skip_baseline_largest and self.records == sizes[-1] and len(sizes) > 1:
            return "not run (--skip-baseline-largest)"
        missing_naive = baseline_naive.available()
        return f"not run: {missing_naive}" if missing_naive else None

    def run_once(self, index: int, scratch: Path) -> None:
        """Run ``index``: each baseline still due runs once (none after a timeout or failure)."""
        for key, script, label in BASELINES:
            entry = self.entries[key]
            if index >= self.times[key] or any(r["status"] != "ok" for r in entry["runs"]):
                continue
            quiet = wait_for_quiet({}, *QUIET)
            with CpuMeter({}) as cpu:
                result = baseline_naive.measure(self.path, scratch, self.timeout, script=script)
            result.pop("totals", None)  # the peer's money: its --verify checks it
            result |= quiet | {"otherCores": cpu.figures["otherCores"]}
            entry["runs"].append(result)
            log(f"{label} {self.records:,} #{index + 1}: {result['status']} "
                f"{result.get('seconds', '')} s, {result.get('peakRssMB')} MB")  # fmt: skip

    def summarise_into(self, entry: dict[str, Any]) -> None:
        """Summaries into the size's ``entry`` (``peer``, ``baseline``)."""
        for key, figures in self.entries.items():
            runs = figures["runs"]
            ok = [r for r in runs if r["status"] == "ok"]
            failed = next((r for r in runs if r["status"] != "ok"), None)
            figures["summary"] = summarise(ok) if ok else None
            if failed:
                figures["note"] = f"{failed['status']} after {failed.get('wallSeconds', '?')} s"
            entry[key] = figures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--sizes", type=int, nargs="+", default=DEFAULT_SIZES, help="invoices per dataset")
    add("--repeat", type=int, default=3, help="runs per size (min/median/max)")
    add("--workers", type=int, default=2, help="worker services in the stack")
    add("--no-baseline", action="store_true", help="skip the old way entirely")
    add("--no-peer", action="store_true", help="skip the best peer (polars + xlsxwriter)")
    add("--skip-baseline-largest", action="store_true", help="skip the old way at the largest size")
    add("--baseline-timeout", type=float, default=900, help="cap on one old-way run (s)")
    add("--baseline-repeat-up-to", type=int, default=100_000,
        help="repeat the old way only up to this size (above it: one run)")  # fmt: skip
    add("--no-stages", action="store_true", help="skip the per-stage profile of the build")
    add("--helper-sizes", type=int, nargs="*", default=None,
        help="sizes measured again with AR_BUILD_PROCESSES=0, a lone build rendering with "
             "helper processes (default: the smallest and the largest; none: skip)")  # fmt: skip
    add("--no-load", action="store_true", help="skip jobs/minute and status polling")
    add("--throughput-jobs", type=int, default=8, help="jobs queued at once")
    add("--throughput-size", type=int, default=45_000, help="invoices per queued job")
    add("--poll-seconds", type=float, default=10, help="duration of each polling test")
    add("--poll-connections", type=int, default=64)
    add("--poll-threads", type=int, default=2, help="wrk threads (or poller processes)")
    add(
        "--status-rounds",
        type=int,
        default=3,
        help="interleaved rounds of the status against a bare endpoint (0: skip; needs wrk)",
    )
    add("--status-seconds", type=float, default=8, help="each wrk run of those rounds (s)")
    add(
        "--quiet-cores",
        type=float,
        default=QUIET[0],
        help="before each run, wait for other work on the machine to use fewer cores",
    )
    add("--quiet-wait", type=float, default=QUIET[1], help="... but at most this long (s)")
    add("--cache", type=Path, default=DATASET_CACHE, help="where datasets are kept")
    add("--out", type=Path, default=RESULTS_DIR, help="where results are written")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Every measurement; the results document (without its rendering)."""
    sizes = sorted(set(args.sizes))
    paths = {records: dataset(args.cache, records) for records in sizes}
    load_path = dataset(args.cache, args.throughput_size)
    results: dict[str, Any] = {"sizes": [], "throughput": None, "polling": None}
    helped_sizes = _helper_sizes(args, sizes)
    with ExitStack() as stacks:
        stack = stacks.enter_context(warm_stack(args, scratch, "stack"))
        # Builds with helper processes, on a stack of their own beside the default one (every
        # build in one process), run after each default run (a drifting machine moved them
        # apart when they ran after).
        helped = (
            stacks.enter_context(
                warm_stack(args, scratch, "helper stack", {"AR_BUILD_PROCESSES": "0"})
            )
            if helped_sizes
            else None
        )
        for records in sizes:
            baselines = Baselines(args, sizes, paths[records], records)
            with_helpers: list[dict[str, Any]] = []
            path = paths[records]

            between = partial(
                _between,
                baselines=baselines,
                helped=helped if records in helped_sizes else None,
                job=(path, records, scratch),
                with_helpers=with_helpers,
            )
            runs = measure_e2e(stack, path, records, args.repeat, scratch, between)
            entry: dict[str, Any] = {
                "records": records,
                "inputBytes": path.stat().st_size,
                "seed": records,
                "e2e": {"runs": runs, "summary": summarise(runs)},
            }
            if with_helpers:
                entry["e2eHelpers"] = {"runs": with_helpers, "summary": summarise(with_helpers)}
            baselines.summarise_into(entry)
            if not args.no_stages:
                entry["stages"] = measure_stages(stack, path, scratch)
                log(f"stages {records:,}: {entry['stages']['stages']}")
            results["sizes"].append(entry)
        if not args.no_load:
            jobs = args.throughput_jobs
            quiet = wait_for_quiet(stack.cpu_groups(), *QUIET)
            with CpuMeter(stack.cpu_groups()) as cpu:
                results["throughput"] = throughput(stack.url, load_path, jobs)
            results["throughput"]["cpu"] = cpu.figures | quiet
            wait_for_quiet(stack.cpu_groups(), *QUIET)
            log(f"throughput: {results['throughput']}")
            last_job = results["sizes"][0]["e2e"]["runs"][-1]["jobId"]
            results["polling"] = polling_under_load(
                stack.url, last_job, load_path, jobs, args.poll_seconds,
                args.poll_connections, args.poll_threads,
            )  # fmt: skip
            log(f"polling: {results['polling']}")
    results["statusVsBare"] = _status_vs_bare(args, scratch)
    return results


def _status_vs_bare(args: argparse.Namespace, scratch: Path) -> dict[str, Any] | None:
    """The status endpoint beside a bare one, on an idle stack of its own, with the api's
    default number of processes (one)."""
    if args.status_rounds <= 0 or shutil.which("wrk") is None:
        return None
    wait_for_quiet({}, *QUIET)
    options = argparse.Namespace(
        api_workers=1,
        rounds=args.status_rounds,
        connections=args.poll_connections,
        wrk_seconds=args.status_seconds,
        wrk_threads=args.poll_threads,
    )
    workdir = scratch / "status-vs-bare"
    workdir.mkdir()
    result = status_vs_bare(workdir, options)
    log(f"status vs bare: {result['targets']}")
    return result


def _between(
    index: int,
    *,
    baselines: Baselines,
    helped: BenchStack | None,
    job: tuple[Path, int, Path],
    with_helpers: list[dict[str, Any]],
) -> None:
    """After the stack's run ``index``: the same job on the helper stack, then the
    baselines still due."""
    path, records, scratch = job
    if helped is not None:
        with_helpers.extend(measure_e2e(helped, path, records, 1, scratch, label="helpers"))
    baselines.run_once(index, scratch=scratch)


def _helper_sizes(args: argparse.Namespace, sizes: list[int]) -> set[int]:
    """Sizes also measured on a stack whose lone builds render with helper processes (the
    trade-off: more memory, less time); by default the smallest and the largest."""
    wanted = args.helper_sizes
    if wanted is None:
        wanted = [sizes[0], sizes[-1]]
    return set(wanted) & set(sizes)


def finish(args: argparse.Namespace, results: dict[str, Any], started: float,
           info: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Ratios and targets; write JSON, Markdown and the chart; the whole document."""
    ratio_rows = [row for size in results["sizes"] if (row := ratios(size))]
    peer_rows = [row for size in results["sizes"] if (row := ratios(size, against="peer"))]
    helper_ratio_rows = [row for size in results["sizes"] if (row := ratios(size, "e2eHelpers"))]
    quoted = quoted_ratios(results["sizes"])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.out.mkdir(parents=True, exist_ok=True)
    chart_path = args.out / f"e2e-{stamp}.png"
    document = {
        "schema": "async-reports/bench-e2e/1",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "durationSeconds": round(time.perf_counter() - started),
        "machine": info | {"loadAverageAtEnd": [round(x, 2) for x in os.getloadavg()]},
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        **results,
        "quoted": QUOTED_SEED,
        "ratios": ratio_rows,
        "quotedRatios": quoted,
        "peerRatios": peer_rows,
        "targets": targets(results["sizes"], ratio_rows, peer_rows=peer_rows)
        + status_targets(results.get("statusVsBare")),
        "ratiosHelpers": helper_ratio_rows,
        "targetsHelpers": targets(results["sizes"], helper_ratio_rows, "e2eHelpers"),
        "chart": chart_path.name if render.chart(results["sizes"], chart_path) else None,
        "markdown": f"e2e-{stamp}.md",
    }
    markdown = render_markdown(document)
    (args.out / f"e2e-{stamp}.json").write_text(json.dumps(document, indent=2) + "\n")
    (args.out / document["markdown"]).write_text(markdown)
    print(markdown)
    log(f"results: {args.out / f'e2e-{stamp}'}.{{json,md,png}}")
    return document


def render_markdown(doc: dict[str, Any]) -> str:
    """Every table of the run, with the machine and the command."""
    m = doc["machine"]
    stages = [s["stages"] | {"records": s["records"]} for s in doc["sizes"] if "stages" in s]
    parts = [
        f"# End-to-end benchmark, {doc['when']}",
        f"Machine: {m['nproc']} CPUs ({m['cpuModel']}), {m['ramGiB']} GiB RAM, Python "
        f"{m['python']}, load average {m['loadAverageAtStart'][0]} at start and "
        f"{m['loadAverageAtEnd'][0]} at end. Command: `{doc['command']}` "
        f"({doc['durationSeconds']} s). Figures: median (min–max) of "
        f"{doc['config']['repeat']} runs.",
        "## Results\n\n" + render.results_table(doc["sizes"]),
        "## Old way ÷ new way (same run)\n\n" + render.ratios_table(doc["ratios"],
                                                                   doc["quotedRatios"]),
        "## Best peer ÷ new way (same run)\n\n" + render.ratios_table(doc["peerRatios"], None),
        "## Targets\n\nThe stack as it runs by default: every build in one process "
        "(`AR_BUILD_PROCESSES=1`); the lone build's gain is the helper stack's.\n\n"
        + render.targets_table(doc["targets"]),
    ]  # fmt: skip
    if any(row["value"] is not None for row in doc.get("targetsHelpers", [])):
        parts.append(
            "## Targets with `AR_BUILD_PROCESSES=0` (a build alone on the machine renders "
            "its batches in two processes, itself and a helper)\n\n"
            + render.ratios_table(doc["ratiosHelpers"], None) + "\n\n"
            + render.targets_table(doc["targetsHelpers"])
        )  # fmt: skip
    parts.append("## CPU during the runs (the machine is shared)\n\n"
                 + render.noise_table(doc["sizes"]))  # fmt: skip
    if stages:
        parts.append("## Where a worker's time goes\n\n" + render.stages_table(stages))
    if doc["throughput"] or doc["polling"]:
        parts.append("## Several jobs, status polling\n\n"
                     + render.load_table(doc["throughput"], doc["polling"]))  # fmt: skip
    if doc.get("statusVsBare"):
        parts.append("## The status against a bare Litestar + Redis endpoint (idle stack)\n\n"
                     + status_table(doc["statusVsBare"]))  # fmt: skip
    if doc["chart"]:
        parts.append(f"![time and memory against dataset size]({doc['chart']})")
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    args = parse_args(argv)
    QUIET[:] = [args.quiet_cores, args.quiet_wait]
    started = time.perf_counter()
    info = machine()
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        results = run(args, Path(tmp))
    finish(args, results, started, info)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
