"""The status endpoint beside a bare Litestar + Redis endpoint, in one run (load.py's
``--status-vs-bare``).

An idle stack (api with ``--api-workers`` uvicorn workers, one idle worker, the janitor)
holds jobs written through the shared job store as the api and workers write them: three
Queued (the one measured is third in its lane), one Processing (mid-run, with progress)
and one Completed, owned by a client API key, with run samples so that every estimate is
there. The bare app (``bare_status.py``: one HGETALL, served by uvicorn with the same
workers and options) reads the same job's hash. ``wrk`` then loads each target in turn,
bare, queued, running, completed, bare, ... for ``--rounds`` rounds, so that a drifting
machine moves them alike; each target's figures are the medians of its rounds, and its
ratio to the bare endpoint is the median of the ratios taken round by round.
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
from e2e_load import wrk
from e2e_stack import start_stack

from devstack.stack import free_port
from reports_shared.constants import JobStatus, Lane
from reports_shared.eta import RunSample
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import JobStore
from reports_shared.settings import CommonSettings, load_settings

BARE = Path(__file__).with_name("bare_status.py")
CLIENT = "bench"
MIB = 1024 * 1024
TARGETS = ("bare", "queued", "running", "completed")


def seed_jobs(env: dict[str, str]) -> dict[str, str]:
    """Write the measured jobs into the stack's namespace; their ids by state."""
    settings = load_settings(CommonSettings, env)
    store = JobStore.from_url(settings.redis_url, settings.names)
    now = utcnow()
    for seconds in (4.0, 6.5, 9.0, 12.0, 20.0):
        sample = RunSample(int(seconds * 2 * MIB), seconds, seconds * 0.8, 0.3)
        store.add_run_sample(Lane.SMALL, sample, {"jobs": 2, "large": 1})

    def record(index: int, status: JobStatus) -> JobRecord:
        job = JobRecord(
            job_id=f"bench{index:03d}" + secrets.token_hex(8),
            status=JobStatus.QUEUED,
            message="Trabajo en cola",
            report_type="FacturacionMasiva",
            user_name="carga@empresa.com",
            created_at=now - timedelta(seconds=60 - index),
            owner=CLIENT,
            payload_key=f"payloads/{index}.json",
            payload_bytes=12 * MIB,
            payload_sha256="0" * 64,
            enqueued_at=now,
        )
        store.create(job)
        if status == JobStatus.QUEUED:
            return job
        started = now - timedelta(seconds=5)
        running = {"startedAt": started, "message": "Procesando", "worker": "bench",
                   "leaseExpiresAt": now + timedelta(days=1), "runId": "bench",
                   "bytesProcessed": 4 * MIB, "progressAt": now, "recordsProcessed": 9000,
                   "firstBytesProcessed": MIB, "firstProgressAt": started + timedelta(seconds=1),
                   "deliveries": 1}  # fmt: skip
        store.transition(job, {JobStatus.QUEUED}, JobStatus.PROCESSING, running)
        if status == JobStatus.PROCESSING:
            return job
        expires = now + timedelta(days=1)
        done = {"completedAt": now, "expiresAt": expires, "message": "Reporte generado",
                "fileName": "reporte.zip", "fileSizeBytes": 3 * MIB,
                "resultKey": f"results/{index}.zip", "recordsProcessed": 27000,
                "bytesProcessed": 12 * MIB}  # fmt: skip
        score = expires.timestamp()
        store.transition(job, {JobStatus.PROCESSING}, JobStatus.COMPLETED, done, score)
        return job

    completed = record(0, JobStatus.COMPLETED)
    running = record(1, JobStatus.PROCESSING)
    queued = [record(index, JobStatus.QUEUED) for index in (2, 3, 4)]
    store.client.close()
    return {"queued": queued[-1].job_id, "running": running.job_id, "completed": completed.job_id}


def start_bare(env: dict[str, str], workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The bare app, answering; its process and base URL."""
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, str(BARE), str(port), str(workers)],
        env={**os.environ, "AR_REDIS_URL": env["AR_REDIS_URL"]},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        # A session of its own, as the stack's api has: where the kernel shares the CPU
        # out by session (autogroup), both servers then get the same share.
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/bare/none", timeout=2)
            return child, url
        except httpx.TransportError:
            time.sleep(0.2)
    child.kill()
    raise RuntimeError(f"the bare app did not answer: {log.read_text()[-2000:]}")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children so far."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measured(url: str, pid: int, args: Any, headers: dict[str, str]) -> dict[str, Any]:
    """One wrk run against ``url``, with the CPU the server (``pid``'s tree) spent a request."""
    before = tree_cpu(pid)
    result = wrk(url, args.wrk_seconds, args.connections, args.wrk_threads, headers)
    result["cpuUsPerRequest"] = round((tree_cpu(pid) - before) / max(1, result["requests"]) * 1e6)
    return result


def load_avg() -> str:
    """The machine's load averages (1, 5, 15 minutes)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def compare(workdir: Path, args: Any) -> dict[str, Any]:
    """Run every target for ``args.rounds`` rounds, interleaved; the figures."""
    if shutil.which("wrk") is None:
        raise SystemExit("--status-vs-bare needs wrk (apt-get install -y wrk)")
    key = secrets.token_urlsafe(24)
    extra = {"AR_API_WORKERS": str(args.api_workers),
             "AR_API_KEYS": f"client:{CLIENT}:{key},operator:ops:{secrets.token_urlsafe(24)}",
             "AR_LOG_LEVEL": "INFO"}  # fmt: skip
    stack = start_stack(workdir, workers=1, extra_env=extra)
    bare: subprocess.Popen[bytes] | None = None
    try:
        ids = seed_jobs(stack.env)
        bare, bare_url = start_bare(stack.env, args.api_workers, workdir / "bare.log")
        names = load_settings(CommonSettings, stack.env).names
        urls = {"bare": f"{bare_url}/bare/{names.job(ids['completed'])}"}
        for state, job_id in ids.items():
            urls[state] = f"{stack.url}/api/AsyncReports/status/{job_id}"
        headers = {"X-API-Key": key}
        for url in urls.values():  # warm up: connections, the board, the token index
            assert httpx.get(url, headers=headers, timeout=10).status_code == 200, url
        api_pid = stack.service_pids("api")[0]
        pids = {target: bare.pid if target == "bare" else api_pid for target in TARGETS}
        rounds: list[dict[str, dict[str, Any]]] = []
        loads = [load_avg()]
        for _ in range(args.rounds):
            rounds.append({t: measured(urls[t], pids[t], args, headers) for t in TARGETS})
            loads.append(load_avg())
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait(30)
        stack.stop()
    return summary(rounds, loads, args)


def summary(rounds: list[dict[str, dict[str, Any]]], loads: list[str], args: Any) -> dict[str, Any]:
    """Each target's medians over the rounds and its paired ratio to the bare endpoint."""
    targets: dict[str, Any] = {}
    for target in TARGETS:
        runs = [r[target] for r in rounds]
        ratios = [r[target]["requestsPerSecond"] / r["bare"]["requestsPerSecond"] for r in rounds]
        targets[target] = {
            "requestsPerSecond": round(statistics.median(x["requestsPerSecond"] for x in runs)),
            "requestsPerSecondRange": [min(x["requestsPerSecond"] for x in runs),
                                       max(x["requestsPerSecond"] for x in runs)],
            "p50Ms": round(statistics.median(x["p50Ms"] for x in runs), 2),
            "p99Ms": round(statistics.median(x["p99Ms"] for x in runs), 2),
            "p99MsRange": [min(x["p99Ms"] for x in runs), max(x["p99Ms"] for x in runs)],
            "ratioToBare": round(statistics.median(ratios), 2),
            "cpuUsPerRequest": round(statistics.median(x["cpuUsPerRequest"] for x in runs)),
            "errors": sum(x["errors"] for x in runs),
        }  # fmt: skip
    return {
        "apiWorkers": args.api_workers,
        "connections": args.connections,
        "tool": f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.wrk_seconds}s",
        "rounds": args.rounds,
        "loadAverages": loads,
        "targets": targets,
        "passed": all(t["errors"] == 0 for t in targets.values()),
    }


def table(result: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    lines = [
        f"{result['tool']}, {result['rounds']} interleaved rounds, api and bare app with "
        f"{result['apiWorkers']} uvicorn worker(s); load average before and after each round: "
        + ", ".join(result["loadAverages"]),
        "",
        "| target | req/s (median, range) | p50 ms | p99 ms (median, range) | × bare "
        "| server CPU µs/request | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for target, t in result["targets"].items():
        low, high = t["requestsPerSecondRange"]
        p99_low, p99_high = t["p99MsRange"]
        lines.append(
            f"| {target} | {t['requestsPerSecond']:,} ({low:,}–{high:,}) | {t['p50Ms']} | "
            f"{t['p99Ms']} ({p99_low}–{p99_high}) | {t['ratioToBare']} | "
            f"{t['cpuUsPerRequest']} | {t['errors']} |"
        )
    return "\n".join(lines)
