"""How far the status's estimates are from what happens, on the benchmark datasets.

    uv run --group bench python bench/eta_error.py
    uv run --group bench python bench/eta_error.py --sizes 45000 --repeat 5

Starts a stack of its own (as bench_e2e.py does: two workers, cap of 2, cache off), runs
one job of each size to give its lane a first sample, then, for each size, jobs alone
(the running estimate) and, at the smallest size, batches of four submitted at once, two
running and two queued behind them (the queued estimate). The status of every job is read
every ``--interval`` s; at 25, 50 and 75 % of a job's time the predicted completion
(when the status was read + estimatedSecondsLeft) is compared with its completedAt; for
a queued job, at 25, 50 and 75 % of its wait, and its predicted start (+ estimatedStartIn)
with its startedAt too. Prints a Markdown
table and writes ``eta-<time>.json`` under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_e2e import DATASET_CACHE, RESULTS_DIR, dataset, log
from e2e_client import status, submit
from e2e_stack import start_stack

SHARES = (0.25, 0.5, 0.75)


class Watch:
    """Reads one job's status every ``interval`` s until it is finished (in a thread)."""

    def __init__(self, url: str, job_id: str, interval: float) -> None:
        self.url = url
        self.job_id = job_id
        self.interval = interval
        #: (when read, epoch s; the status document)
        self.readings: list[tuple[float, dict[str, Any]]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while True:
                body = status(client, self.job_id)
                self.readings.append((time.time(), body))
                if body["status"] in {"Completed", "Failed"}:
                    return
                time.sleep(self.interval)

    def finished(self, timeout: float) -> dict[str, Any]:
        """The job's final status (raises if it did not complete)."""
        self._thread.join(timeout)
        final = self.readings[-1][1]
        if final["status"] != "Completed":
            raise RuntimeError(f"job {self.job_id} ended {final['status']}: {final['message']}")
        return final


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def _nearest(readings: list[tuple[float, dict[str, Any]]], moment: float, state: str) -> Any:
    """The reading in ``state`` nearest to ``moment`` (None if there is none)."""
    fitting = [r for r in readings if r[1]["status"] == state]
    return min(fitting, key=lambda r: abs(r[0] - moment), default=None)


def errors(watch: Watch, final: dict[str, Any], queued: bool) -> dict[str, Any]:
    """The estimate's errors (s; + is later than real) at each share of the job's run, or
    of its wait if ``queued``; ``seconds``: that run's or wait's length."""
    created, started = _epoch(final["createdAt"]), _epoch(final["startedAt"])
    completed = _epoch(final["completedAt"])
    begin, end = (created, started) if queued else (started, completed)
    out: dict[str, Any] = {"seconds": end - begin, "run": completed - started}
    for share in SHARES:
        moment = begin + share * (end - begin)
        point: dict[str, Any] = {}
        reading = _nearest(watch.readings, moment, "Queued" if queued else "Processing")
        if reading is not None:
            at, body = reading
            point["state"] = body["status"]
            left = body.get("estimatedSecondsLeft")
            point["end_error"] = None if left is None else at + left - completed
            start_in = body.get("estimatedStartIn")
            point["start_error"] = None if start_in is None else at + start_in - started
        out[f"{int(share * 100)}%"] = point
    return out


def run_alone(url: str, path: Path, interval: float) -> dict[str, Any]:
    """One job alone: its running estimate."""
    with httpx.Client(base_url=url, timeout=120) as client:
        job_id, _ = submit(client, path)
    watch = Watch(url, job_id, interval)
    return errors(watch, watch.finished(600), queued=False)


def run_batch(url: str, path: Path, interval: float, jobs: int) -> list[dict[str, Any]]:
    """``jobs`` submitted at once: the first two run, the others wait (queued estimates)."""
    watches = []
    with httpx.Client(base_url=url, timeout=120) as client:
        for _ in range(jobs):
            job_id, _ = submit(client, path)
            watches.append(Watch(url, job_id, interval))
    finals = [w.finished(900) for w in watches]
    pairs = enumerate(zip(watches, finals, strict=True))
    return [errors(watch, final, queued=i >= 2) for i, (watch, final) in pairs]


def _summary(runs: list[dict[str, Any]], key: str) -> dict[str, str]:
    """Per share: median |error| (s) and median |error| as % of the job's time."""
    row = {}
    for share in SHARES:
        label = f"{int(share * 100)}%"
        values = [(r[label].get(key), r["seconds"]) for r in runs if r[label].get(key) is not None]
        if not values:
            row[label] = "—"
            continue
        seconds = statistics.median(abs(e) for e, _ in values)
        percent = statistics.median(100 * abs(e) / total for e, total in values)
        signed = statistics.median(e for e, _ in values)
        row[label] = f"{seconds:.2f} s ({percent:.0f} %), median {signed:+.2f} s, n={len(values)}"
    return row


def main() -> None:
    """Run the measurements and report them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[45_000, 200_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batches", type=int, default=3, help="batches of four, smallest size")
    parser.add_argument("--interval", type=float, default=0.25)
    args = parser.parse_args()
    paths = {size: dataset(DATASET_CACHE, size) for size in args.sizes}
    scratch = Path(tempfile.mkdtemp(prefix="bench-eta-"))
    stack = start_stack(scratch)
    results: dict[str, Any] = {}
    try:
        for size in args.sizes:  # a first sample for each lane, not measured
            run_alone(stack.url, paths[size], args.interval)
        for size in args.sizes:
            log(f"{size} invoices alone, {args.repeat} times")
            results[f"alone-{size}"] = [
                run_alone(stack.url, paths[size], args.interval) for _ in range(args.repeat)
            ]
        smallest = min(args.sizes)
        log(f"{smallest} invoices, {args.batches} batches of four at once")
        batches = [run_batch(stack.url, paths[smallest], args.interval, 4)
                   for _ in range(args.batches)]  # fmt: skip
        results[f"batch-{smallest}-running"] = [j for b in batches for j in b[:2]]
        results[f"batch-{smallest}-queued"] = [j for b in batches for j in b[2:]]
    except BaseException:
        print(stack.log_tail(), file=sys.stderr)
        raise
    finally:
        stack.stop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"eta-{stamp}.json"
    out.write_text(json.dumps({"interval": args.interval, "runs": results}, indent=2))
    print(f"\n`{out.name}`: |predicted − actual| at a share of a job's run (a queued job's: of its "
          "wait), median over jobs (as % of that run or wait), then the signed median "
          "(+: predicted later than real)\n")  # fmt: skip
    print("| jobs | estimate | 25 % | 50 % | 75 % |\n|---|---|---|---|---|")
    for name, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        label = f"{name} ({seconds:.1f} s)"
        print(f"| {label} | completion | {' | '.join(_summary(runs, 'end_error').values())} |")
        if name.endswith("queued"):
            print(f"| {label} | start | {' | '.join(_summary(runs, 'start_error').values())} |")


if __name__ == "__main__":
    main()
