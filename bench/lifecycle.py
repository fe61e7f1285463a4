"""Job lifecycle figures: how soon a cancel frees a slot, how soon a webhook follows completion.

    uv run --group bench python bench/lifecycle.py [--jobs 20] [--records 100000]

On a stack of its own (``e2e_stack``: S3 server, api, two workers, the webhook worker,
janitor, report cache off):

- **cancel to slot free**: one at a time, a FacturacionMasiva job of ``--records`` invoices
  is started; once its build has reported progress the client sends ``DELETE /jobs/{id}``
  and watches the limiter's leases in Redis (every 2 ms) until the job's lease is gone.
  The figure is from sending the request to the lease being gone.
- **webhook latency**: one at a time, a small job with a ``callbackUrl`` pointing at a
  receiver on this machine; the figure is the receiver's clock when the POST arrives minus
  the event's ``completedAt`` (both clocks are this machine's).

Results go to ``bench/results/lifecycle-<time>.json`` and are printed; the figures quoted in
docs/contributors/performance.md come from such a run.
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import redis
from e2e_stack import BenchStack, start_stack

from devstack.datasets import write_invoices

Q = "/api/AsyncReports"
RESULTS_DIR = Path(__file__).parent / "results"
DATASET_CACHE = Path(tempfile.gettempdir()) / "async-reports-bench-e2e"


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def dataset(records: int) -> Path:
    """``records`` generated invoices (kept beside bench_e2e's datasets)."""
    path = DATASET_CACHE / f"facturas-{records}-seed{records}.json"
    if not path.exists():
        DATASET_CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        write_invoices(partial, records, seed=records)
        partial.rename(path)
    return path


def submit(client: httpx.Client, path: Path, callback: str = "") -> str:
    """Queue a FacturacionMasiva job of the dataset at ``path``; its id."""
    fields = {"reportType": "FacturacionMasiva", "userName": "bench@empresa.com"}
    if callback:
        fields["callbackUrl"] = callback
    with path.open("rb") as data:
        response = client.post(
            f"{Q}/queue-multipart",
            data=fields,
            files={"dataFile": (path.name, data, "application/json")},
        )
    response.raise_for_status()
    job_id: str = response.json()["jobId"]
    return job_id


def leases(client: redis.Redis, namespace: str) -> int:
    """Leases held in the stack's limiters now (the global cap and the large lane's)."""
    return sum(int(client.zcard(key)) for key in client.scan_iter(f"{namespace}:limiter:*"))


def wait(condition: Any, timeout: float, interval: float, what: str) -> Any:
    """Poll ``condition`` until truthy; its value (RuntimeError after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)
    return value


def measure_cancels(stack: BenchStack, path: Path, jobs: int) -> list[dict[str, Any]]:
    """Start, cancel and time ``jobs`` running jobs, one at a time."""
    store = redis.Redis.from_url(stack.env["AR_REDIS_URL"])
    namespace = stack.env["AR_NAMESPACE"]
    runs = []
    with httpx.Client(base_url=stack.url, timeout=300) as client:
        for index in range(jobs):
            job = submit(client, path)

            def building(job: str = job) -> bool:
                status = client.get(f"{Q}/status/{job}").json()
                progress = status["progress"]["recordsProcessed"]
                return bool(status["status"] == "Processing" and progress)

            wait(building, 120, 0.02, f"job {job} to build")
            held = leases(store, namespace)
            asked = time.perf_counter()
            response = client.delete(f"{Q}/jobs/{job}")
            answered = time.perf_counter()
            response.raise_for_status()
            wait(lambda held=held: leases(store, namespace) < held, 30, 0.002, "the slot")
            freed = time.perf_counter()
            runs.append({"jobId": job, "answerMs": round((answered - asked) * 1000, 1),
                         "slotFreeMs": round((freed - asked) * 1000, 1)})  # fmt: skip
            wait(lambda: leases(store, namespace) == 0, 30, 0.01, "every slot to be free")
            log(f"cancel #{index + 1}: slot free after {runs[-1]['slotFreeMs']} ms")
    store.close()
    return runs


class Receiver:
    """An HTTP server on loopback that notes when each webhook arrives, by job id."""

    def __init__(self) -> None:
        self.arrived: dict[str, tuple[float, dict[str, Any]]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                event = json.loads(body)
                receiver.arrived.setdefault(event["data"]["jobId"], (at, event))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def measure_webhooks(stack: BenchStack, path: Path, jobs: int) -> list[dict[str, Any]]:
    """Run ``jobs`` small jobs with a callback, one at a time; each webhook's delay."""
    receiver = Receiver()
    runs = []
    try:
        with httpx.Client(base_url=stack.url, timeout=300) as client:
            for index in range(jobs):
                job = submit(client, path, callback=receiver.url)
                at, event = wait(lambda job=job: receiver.arrived.get(job), 60, 0.005, "webhook")
                completed = datetime.fromisoformat(event["data"]["completedAt"])
                delay = at - completed.timestamp()
                runs.append({"jobId": job, "type": event["type"],
                             "latencyMs": round(delay * 1000, 1)})  # fmt: skip
                log(f"webhook #{index + 1}: {event['type']} {runs[-1]['latencyMs']} ms after")
    finally:
        receiver.close()
    return runs


def summary(values: list[float]) -> dict[str, float]:
    """p50, p90 and max of a list of milliseconds."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p90": p90, "max": ordered[-1]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20, help="jobs measured of each kind")
    parser.add_argument("--records", type=int, default=100_000, help="invoices per cancelled job")
    args = parser.parse_args(argv)
    big, small = dataset(args.records), dataset(500)
    with tempfile.TemporaryDirectory() as scratch:
        stack = start_stack(
            Path(scratch), workers=2, extra_env={"AR_WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true"}
        )
        try:
            log(f"stack up at {stack.url}")
            cancels = measure_cancels(stack, big, args.jobs)
            webhooks = measure_webhooks(stack, small, args.jobs)
        except BaseException:
            print(stack.log_tail(), file=sys.stderr)
            raise
        finally:
            stack.stop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    doc = {
        "run": f"lifecycle-{stamp}",
        "records": args.records,
        "cancelSlotFreeMs": summary([run["slotFreeMs"] for run in cancels]),
        "cancelAnswerMs": summary([run["answerMs"] for run in cancels]),
        "webhookLatencyMs": summary([run["latencyMs"] for run in webhooks]),
        "cancels": cancels,
        "webhooks": webhooks,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    out = RESULTS_DIR / f"{doc['run']}.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps({k: doc[k] for k in list(doc)[:5]}, indent=2))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
