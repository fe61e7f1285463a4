"""Load test: sustained submissions of small and large jobs while many clients poll.

    uv run python bench/load.py [--seconds 120] [--submitters 4] [--pollers 32]
                                [--large-every 10] [--url http://127.0.0.1:8000]

Without --url it starts a stack of its own (api, 2 workers, janitor; see e2e_stack.py).
For --seconds, submitters send FacturacionMasiva datasets (50 to 500 invoices; every
--large-every-th one 20,000 invoices flagged large) while pollers read the status of the
jobs so far. Then every job is waited for (bounded), downloaded and checked: Completed,
the manifest counts every invoice sent, each file's SHA-256 matches the manifest.
Passes (exit 0) only with zero 5xx answers, zero lost or stuck jobs and every result
correct. Writes bench/results/load.json and prints a Markdown table.

    uv run python bench/load.py --status-vs-bare [--api-workers N] [--rounds 5]
                                [--connections 64] [--wrk-seconds 8]

measures the status endpoint alone instead (needs ``wrk``): on an idle stack of its own,
the status of a queued, a running and a completed job beside a bare Litestar + Redis
endpoint, interleaved, with each one's ratio to the bare endpoint (status_vs_bare.py).
Writes bench/results/status-vs-bare.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import random
import statistics
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from e2e_stack import start_stack
from status_vs_bare import compare, table

from devstack.datasets import write_invoices

Q = "/api/AsyncReports"
RESULTS = Path(__file__).parent / "results"


@dataclass
class Tally:
    """Everything the load test saw."""

    jobs: dict[str, int] = field(default_factory=dict)  # job id -> invoices sent
    codes: Counter[int] = field(default_factory=Counter)
    submit_latency: list[float] = field(default_factory=list)
    status_latency: list[float] = field(default_factory=list)
    transport_errors: int = 0


def dataset(count: int, seed: int) -> bytes:
    """A FacturacionMasiva dataset of ``count`` invoices (distinct per seed)."""
    buffer = io.BytesIO()
    write_invoices(buffer, count, seed=seed)
    return buffer.getvalue()


async def submitter(
    client: httpx.AsyncClient, tally: Tally, deadline: float, rng: random.Random, large_every: int
) -> None:
    """Submit jobs back to back until the deadline."""
    sent = 0
    while time.monotonic() < deadline:
        sent += 1
        large = large_every > 0 and sent % large_every == 0
        count = 20_000 if large else rng.randint(50, 500)
        data = await asyncio.to_thread(dataset, count, rng.randrange(1 << 30))
        form = {"reportType": "FacturacionMasiva", "userName": "load@empresa.com",
                "isLargeDataset": "true" if large else "false"}  # fmt: skip
        started = time.perf_counter()
        try:
            response = await client.post(
                f"{Q}/queue-multipart", data=form, files={"dataFile": ("d.json", data)}
            )
        except httpx.TransportError:
            tally.transport_errors += 1
            continue
        tally.submit_latency.append(time.perf_counter() - started)
        tally.codes[response.status_code] += 1
        if response.status_code == 202:
            tally.jobs[response.json()["jobId"]] = count
        elif response.status_code in {429, 503}:
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))


async def poller(
    client: httpx.AsyncClient, tally: Tally, deadline: float, rng: random.Random
) -> None:
    """Read the status of random jobs until the deadline."""
    while time.monotonic() < deadline:
        if not tally.jobs:
            await asyncio.sleep(0.05)
            continue
        job_id = rng.choice(list(tally.jobs))
        started = time.perf_counter()
        try:
            response = await client.get(f"{Q}/status/{job_id}")
        except httpx.TransportError:
            tally.transport_errors += 1
            continue
        tally.status_latency.append(time.perf_counter() - started)
        tally.codes[response.status_code] += 1


async def verify(client: httpx.AsyncClient, job_id: str, sent: int, timeout: float) -> str:
    """Wait for one job and check its ZIP; 'ok' or what is wrong."""
    deadline = time.monotonic() + timeout
    while True:
        status = (await client.get(f"{Q}/status/{job_id}")).json()
        if status["status"] in {"Completed", "Failed"} or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    if status["status"] != "Completed":
        return f"{status['status']}: {status['message']}"
    archive = zipfile.ZipFile(io.BytesIO((await client.get(status["downloadUrl"])).content))
    manifest = json.loads(archive.read("manifest.json"))
    invoices = sum(total["invoices"] for total in manifest["totals"].values())
    if manifest["recordsProcessed"] != sent or invoices != sent:
        return f"counted {manifest['recordsProcessed']} of {sent} invoices"
    for entry in manifest["files"]:
        if hashlib.sha256(archive.read(entry["name"])).hexdigest() != entry["sha256"]:
            return f"{entry['name']} does not match its SHA-256"
    return "ok"


async def run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """The whole load test against ``url``; its figures."""
    tally = Tally()
    rng = random.Random(args.seed)
    limits = httpx.Limits(max_connections=args.pollers + args.submitters + 8)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        started = time.monotonic()
        deadline = started + args.seconds
        await asyncio.gather(
            *(submitter(client, tally, deadline, random.Random(rng.random()), args.large_every)
              for _ in range(args.submitters)),
            *(poller(client, tally, deadline, random.Random(rng.random()))
              for _ in range(args.pollers)),
        )  # fmt: skip
        loaded = time.monotonic() - started
        checks = await asyncio.gather(
            *(verify(client, job, sent, args.drain_seconds) for job, sent in tally.jobs.items())
        )
        drained = time.monotonic() - started
    return figures(tally, checks, loaded, drained, args)


def figures(
    tally: Tally, checks: list[str], loaded: float, drained: float, args: argparse.Namespace
) -> dict[str, Any]:
    """The figures of a run, and whether it passed."""
    problems = [check for check in checks if check != "ok"]
    server_errors = sum(n for code, n in tally.codes.items() if code >= 500)
    quantiles = statistics.quantiles(tally.status_latency or [0.0, 0.0], n=100)
    return {
        "seconds": args.seconds,
        "submitters": args.submitters,
        "pollers": args.pollers,
        "jobs_submitted": len(tally.jobs),
        "jobs_correct": len(checks) - len(problems),
        "jobs_wrong_or_stuck": len(problems),
        "problems": problems[:10],
        "jobs_per_minute": round(len(tally.jobs) / drained * 60, 1),
        "status_requests_per_s": round(len(tally.status_latency) / loaded, 1),
        "status_p50_ms": round(quantiles[49] * 1000, 1),
        "status_p99_ms": round(quantiles[98] * 1000, 1),
        "submit_p50_ms": round(statistics.median(tally.submit_latency or [0.0]) * 1000, 1),
        "answers_by_status": dict(sorted(tally.codes.items())),
        "server_errors": server_errors,
        "transport_errors": tally.transport_errors,
        "passed": server_errors == 0 and not problems and tally.transport_errors == 0,
    }


def main() -> None:
    """Run the load test (on a stack of its own unless --url is given) and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--submitters", type=int, default=4)
    parser.add_argument("--pollers", type=int, default=32)
    parser.add_argument("--large-every", type=int, default=10)
    parser.add_argument("--drain-seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path)
    parser.add_argument(
        "--status-vs-bare",
        action="store_true",
        help="measure the status endpoint beside a bare endpoint instead",
    )
    # The api's default: one server process (AR_API_WORKERS=0: one per CPU).
    parser.add_argument("--api-workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-seconds", type=float, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    args = parser.parse_args()
    if args.status_vs_bare:
        status_vs_bare(args)
        return
    args.output = args.output or RESULTS / "load.json"
    if args.url:
        result = asyncio.run(run(args.url, args))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            stack = start_stack(Path(tmp), workers=2)
            try:
                result = asyncio.run(run(stack.url, args))
            finally:
                stack.stop()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print("| figure | value |\n|---|---|")
    for key, value in result.items():
        print(f"| {key} | {value} |")
    sys.exit(0 if result["passed"] else 1)


def status_vs_bare(args: argparse.Namespace) -> None:
    """The status endpoint beside a bare one, in one run; exit 1 on any error answer."""
    with tempfile.TemporaryDirectory() as tmp:
        result = compare(Path(tmp), args)
    output = args.output or RESULTS / "status-vs-bare.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    sys.exit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
