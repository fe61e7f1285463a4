"""Several jobs at once (jobs/minute under the cap) and status polling under load."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from e2e_client import status, submit

POLLER = Path(__file__).with_name("e2e_poller.py")


class Batch:
    """A batch of jobs submitted one after another from a thread of its own."""

    def __init__(self, url: str, dataset: Path, jobs: int) -> None:
        self.url = url
        self.dataset = dataset
        self.jobs = jobs
        self.ids: list[str] = []
        self.upload_seconds: list[float] = []
        self.error: BaseException | None = None
        self.started = 0.0
        self._thread = threading.Thread(target=self._submit, name="batch", daemon=True)

    def start(self) -> Batch:
        """Begin submitting."""
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def _submit(self) -> None:
        try:
            with httpx.Client(base_url=self.url, timeout=600) as client:
                for _ in range(self.jobs):
                    job_id, seconds = submit(client, self.dataset)
                    self.ids.append(job_id)
                    self.upload_seconds.append(seconds)
        except BaseException as exc:
            self.error = exc

    def wait(self, client: httpx.Client, timeout: float, interval: float = 0.1) -> dict[str, Any]:
        """Poll every job until all are Completed; jobs/minute and what the cap allowed."""
        deadline = time.monotonic() + timeout
        most_running = 0
        finals: dict[str, dict[str, Any]] = {}
        while len(finals) < self.jobs:
            if self.error is not None:
                raise RuntimeError(f"submitting the batch failed: {self.error}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the batch did not finish within {timeout:.0f} s")
            running = 0
            for job_id in list(self.ids):
                if job_id in finals:
                    continue
                body = status(client, job_id)
                if body["status"] == "Failed":
                    raise RuntimeError(f"job {job_id} failed: {body.get('error')}")
                if body["status"] == "Completed":
                    finals[job_id] = body
                running += body["status"] == "Processing"
            most_running = max(most_running, running)
            time.sleep(interval)
        span = time.perf_counter() - self.started
        return _batch_figures(self, list(finals.values()), span, most_running)


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (one that ends as another starts: not both)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = running = 0
    for _, step in events:  # at equal times -1 sorts first
        running += step
        most = max(most, running)
    return most


def _batch_figures(
    batch: Batch, finals: list[dict[str, Any]], span: float, most_polled: int
) -> dict[str, Any]:
    created = [datetime.fromisoformat(body["createdAt"]).timestamp() for body in finals]
    completed = [datetime.fromisoformat(body["completedAt"]).timestamp() for body in finals]
    metrics = [body["performanceMetrics"] for body in finals]
    processing = [m["processingTimeMs"] / 1000 for m in metrics]
    waits = [m["queueWaitMs"] / 1000 for m in metrics]
    # A job runs from its start (created + queue wait) to its completion, by the server.
    running = [(c + w, done) for c, w, done in zip(created, waits, completed, strict=True)]
    server_span = max(completed) - min(created)
    return {
        "jobs": batch.jobs,
        "recordsPerJob": metrics[0]["recordsProcessed"],
        "wallSeconds": round(span, 2),
        "jobsPerMinute": round(batch.jobs * 60 / span, 1),
        "serverSpanSeconds": round(server_span, 2),
        "serverJobsPerMinute": round(batch.jobs * 60 / server_span, 1),
        "mostRunningAtOnce": most_at_once(running),
        "mostSeenProcessingByPolls": most_polled,
        "processingSecondsMedian": round(statistics.median(processing), 2),
        "processingSecondsMax": round(max(processing), 2),
        "queueWaitSecondsMax": round(max(waits), 2),
        "uploadSecondsMedian": round(statistics.median(batch.upload_seconds), 2),
        "timeline": [
            {
                "created": round(c - min(created), 2),
                "started": round(s - min(created), 2),
                "completed": round(e - min(created), 2),
            }
            for c, (s, e) in sorted(zip(created, running, strict=True))
        ],
    }


def throughput(url: str, dataset: Path, jobs: int, timeout: float = 1800) -> dict[str, Any]:
    """Queue ``jobs`` jobs of ``dataset`` back to back; how fast the stack works them off."""
    batch = Batch(url, dataset, jobs).start()
    with httpx.Client(base_url=url, timeout=60) as client:
        return batch.wait(client, timeout)


def poll_load(url: str, seconds: float, connections: int, threads: int) -> dict[str, Any]:
    """GET ``url`` hard for ``seconds`` from a separate load-generator process (or several)."""
    if shutil.which("wrk"):
        return wrk(url, seconds, connections, threads)
    return _python_pollers(url, seconds, connections, threads)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(
    url: str, seconds: float, connections: int, threads: int,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """GET ``url`` from ``wrk`` for ``seconds``: requests/s, p50, p99 and errors."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--latency", url]  # fmt: skip
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    percentiles = {
        int(p): float(v) * _UNITS[unit]
        for p, v, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    }
    requests = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                              r"timeout (\d+)", out)  # fmt: skip
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not (percentiles and requests and rate):
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return {
        "tool": f"wrk -t{threads} -c{connections}",
        "seconds": seconds,
        "requests": int(requests.group(1)),
        "requestsPerSecond": round(float(rate.group(1))),
        "p50Ms": round(percentiles[50], 2),
        "p99Ms": round(percentiles[99], 2),
        "errors": errors,
    }


def _python_pollers(url: str, seconds: float, connections: int, processes: int) -> dict[str, Any]:
    per_process = max(1, connections // processes)
    children = [
        subprocess.Popen(
            [sys.executable, str(POLLER), url, str(seconds), str(per_process)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    results = [json.loads(child.communicate()[0]) for child in children]
    latencies = sorted(ms for result in results for ms in result["latenciesMs"])
    elapsed = max(result["elapsed"] for result in results)
    # A machine so loaded that no poll (or one) came back still gets a report, not a crash.
    cuts = (
        statistics.quantiles(latencies, n=100) if len(latencies) > 1 else (latencies or [0.0]) * 99
    )
    return {
        "tool": f"python httpx pollers: {processes} processes x {per_process} connections",
        "seconds": seconds,
        "requests": len(latencies),
        "requestsPerSecond": round(len(latencies) / elapsed) if elapsed > 0 else 0,
        "p50Ms": round(cuts[49], 2),
        "p99Ms": round(cuts[98], 2),
        "errors": sum(result["errors"] for result in results),
    }


def polling_under_load(
    url: str, job_id: str, dataset: Path, jobs: int, seconds: float, connections: int,
    threads: int,
) -> dict[str, Any]:  # fmt: skip
    """Status polling on an idle stack, then while a batch of jobs is being built."""
    target = f"{url}/api/AsyncReports/status/{job_id}"
    idle = poll_load(target, seconds, connections, threads)
    batch = Batch(url, dataset, jobs).start()
    time.sleep(0.5)  # the first job is uploaded and running
    busy = poll_load(target, seconds, connections, threads)
    with httpx.Client(base_url=url, timeout=60) as client:
        busy["batchWhilePolled"] = batch.wait(client, timeout=1800)
    return {"idle": idle, "busy": busy}
