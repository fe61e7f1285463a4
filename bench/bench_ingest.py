"""Ingest benchmark: a 500 MB multipart upload through the real api, and status polling.

    uv run python bench/bench_ingest.py [--mb 500] [--pollers 64] [--seconds 10]

Starts its own S3 server and api (no workers: this measures the api alone) in a fresh
namespace, streams a generated FacturacionMasiva dataset as multipart *without*
Content-Length (chunked, the hard case), samples the api's RSS with psutil while it runs,
then hammers GET /status with concurrent clients. Prints a JSON line and a Markdown table;
writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import psutil
import redis

from devstack.datasets import write_invoices
from devstack.infra import ensure_rabbitmq, ensure_redis
from devstack.s3server import start_s3
from devstack.supervisor import Service, Supervisor

BOUNDARY = "benchboundary7MA4YWxkTrZu0gW"
#: Bytes per generated invoice, about (to size the dataset).
INVOICE_BYTES = 815


def multipart_body(path: Path, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """The seed's four fields, then the file, streamed from disk."""
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in {"reportType": "FacturacionMasiva", "userName": "bench@empresa.com",
                     "isLargeDataset": "true"}.items()
    )  # fmt: skip
    head += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="dataFile"; '
             'filename="datos.json"\r\nContent-Type: application/json\r\n\r\n')  # fmt: skip
    yield head.encode()
    with path.open("rb") as handle:
        while data := handle.read(chunk):
            yield data
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


class RssSampler:
    """Peak RSS of a process (and its children), sampled every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                rss = self.process.memory_info().rss + sum(
                    c.memory_info().rss for c in self.process.children(recursive=True)
                )
            except psutil.Error:
                continue
            self.peak = max(self.peak, rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def upload(url: str, path: Path, api_pid: int) -> dict[str, float]:
    """Upload the dataset; seconds, MB/s and the api's peak RSS during it."""
    size = path.stat().st_size
    with RssSampler(api_pid) as sampler:
        started = time.perf_counter()
        response = httpx.post(
            f"{url}/api/AsyncReports/queue-multipart",
            content=multipart_body(path),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
            timeout=600,
        )
        seconds = time.perf_counter() - started
    response.raise_for_status()
    return {
        "upload_mb": round(size / 1e6, 1),
        "upload_seconds": round(seconds, 2),
        "upload_mb_per_s": round(size / 1e6 / seconds, 1),
        "api_peak_rss_mb": round(sampler.peak / 2**20, 1),
        "job_id": response.json()["jobId"],
    }


async def poll(url: str, job_id: str, clients: int, seconds: float) -> dict[str, float]:
    """Concurrent GET /status for ``seconds``: requests/s, p50 and p99 latency."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    errors = 0

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await http.get(f"/api/AsyncReports/status/{job_id}")
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "status_clients": clients,
        "status_requests_per_s": round(len(latencies) / elapsed),
        "status_p50_ms": round(quantiles[49] * 1000, 2),
        "status_p99_ms": round(quantiles[98] * 1000, 2),
        "status_errors": errors,
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--pollers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    ensure_redis()
    ensure_rabbitmq()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dataset = work / "datos.json"
        write_invoices(dataset, args.mb * 1_000_000 // INVOICE_BYTES)
        access, secret = "bench-" + secrets.token_hex(4), secrets.token_urlsafe(24)
        s3 = start_s3(work, access, secret, port_base=27333)
        namespace = "bench" + secrets.token_hex(3)
        env = {"AR_S3_ENDPOINT": s3.endpoint, "AR_S3_ACCESS_KEY": access,
               "AR_S3_SECRET_KEY": secret, "AR_NAMESPACE": namespace, "AR_API_PORT": "8766",
               "AR_S3_BUCKET": namespace, "AR_LOG_LEVEL": "WARNING",
               "AR_TOKEN_SECRET": secrets.token_urlsafe(32)}  # fmt: skip
        logs = io.StringIO()  # warnings only; printed if the run fails
        supervisor = Supervisor([Service("api", [sys.executable, "-m", "reports_api"], env)], logs)
        supervisor.start()
        url = "http://127.0.0.1:8766"
        # No worker runs in this benchmark: announce the report type as a worker would.
        redis.Redis().hset(f"{namespace}:report-types", "FacturacionMasiva", "bench")
        try:
            _wait(url)
            api = supervisor.services["api"].process
            assert api is not None
            results = upload(url, dataset, api.pid)
            results |= asyncio.run(poll(url, str(results["job_id"]), args.pollers, args.seconds))
        except BaseException:
            print(logs.getvalue(), file=sys.stderr)
            raise
        finally:
            supervisor.stop()
            s3.stop()
    _report(results)


def _wait(url: str) -> None:
    for _ in range(100):
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("api did not start")


def _report(results: Mapping[str, object]) -> None:
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    results = {"machine": f"{os.cpu_count()} cores", **results}
    (out / "ingest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))
    print("\n| figure | value |\n|---|---|")
    for key, value in results.items():
        print(f"| {key} | {value} |")


if __name__ == "__main__":
    main()
