"""Ingest benchmark: a 500 MB upload through the real api, multipart and tus, and status
polling.

    uv run python bench/bench_ingest.py [--mb 500] [--pollers 64] [--seconds 10] [--rounds 2]

Starts its own S3 server and api in a fresh namespace (no worker while uploads run: this
measures the api alone), and uploads a generated FacturacionMasiva dataset, interleaved
``--rounds`` times: as multipart *without* Content-Length (chunked, the hard case), and
over tus (POST /uploads, then one PATCH of the whole file, as tuspy and tus-js-client do by
default). Then once over tus with the connection cut at 10 %, 50 % and 90 % of the file
(the client aborts its PATCH there, asks HEAD for the offset and sends the rest from it).
It samples the api's RSS with psutil (at the start of each upload and its peak), then
hammers GET /status with concurrent clients. Last, a worker builds every job's report (the
cache off): each payload must be the file byte for byte (its SHA-256) and each report's
record count and totals the same. Prints a JSON line and a Markdown table; writes
bench/results/ingest.json and ingest-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis

from devstack.datasets import write_invoices
from devstack.infra import ensure_rabbitmq, ensure_redis
from devstack.s3server import start_s3
from devstack.supervisor import Service, Supervisor
from reports_shared.constants import Names
from reports_shared.jobstore.records import decode_record

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
    """RSS of a process (and its children) at the start and at its peak, sampled every
    50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.start = self._rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        try:
            return int(
                self.process.memory_info().rss
                + sum(c.memory_info().rss for c in self.process.children(recursive=True))
            )
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def upload(url: str, path: Path, api_pid: int) -> dict[str, Any]:
    """Upload the dataset as multipart; seconds, MB/s and the api's peak RSS during it."""
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
    return _upload_figures(size, seconds, sampler) | {"job_id": response.json()["jobId"]}


def _upload_figures(size: int, seconds: float, sampler: RssSampler) -> dict[str, Any]:
    """An upload's size, seconds and MB/s, and the api's RSS at its start and its peak."""
    return {
        "upload_mb": round(size / 1e6, 1),
        "upload_seconds": round(seconds, 2),
        "upload_mb_per_s": round(size / 1e6 / seconds, 1),
        "api_start_rss_mb": round(sampler.start / 2**20, 1),
        "api_peak_rss_mb": round(sampler.peak / 2**20, 1),
    }


TUS = {"Tus-Resumable": "1.0.0"}
TUS_METADATA = {"reportType": "FacturacionMasiva", "userName": "bench@empresa.com",
                "isLargeDataset": "true", "filename": "datos.json"}  # fmt: skip


class _Cut(Exception):
    """The client's own abort of a PATCH, as a broken connection."""


def _file_from(
    path: Path, offset: int, stop: int | None, chunk: int = 1024 * 1024
) -> Iterator[bytes]:
    """The file's bytes from ``offset``; the connection breaks once ``stop`` is passed."""
    with path.open("rb") as handle:
        handle.seek(offset)
        sent = offset
        while data := handle.read(chunk):
            if stop is not None and sent + len(data) > stop:
                yield data[: stop - sent]
                raise _Cut(f"cut at byte {stop}")
            sent += len(data)
            yield data


def tus_upload(url: str, path: Path, api_pid: int, cuts: tuple[float, ...] = ()) -> dict[str, Any]:
    """Upload the dataset over tus in one PATCH; with ``cuts`` (fractions of the file), the
    PATCH breaks there and the upload resumes from the offset HEAD gives."""
    size = path.stat().st_size
    metadata = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                        for k, v in TUS_METADATA.items())  # fmt: skip
    stops = [int(size * fraction) for fraction in cuts]
    resumed_from: list[int] = []
    retries = 0
    with RssSampler(api_pid) as sampler, httpx.Client(base_url=url, timeout=600) as http:
        started = time.perf_counter()
        created = http.post("/api/AsyncReports/uploads", headers={
            **TUS, "Upload-Length": str(size), "Upload-Metadata": metadata})  # fmt: skip
        created.raise_for_status()
        location = created.headers["location"]
        offset = 0
        while True:
            stop = stops[0] if stops else None
            headers = {**TUS, "Upload-Offset": str(offset), "Content-Length": str(size - offset),
                       "Content-Type": "application/offset+octet-stream"}  # fmt: skip
            try:
                response = http.patch(location, content=_file_from(path, offset, stop),
                                      headers=headers)  # fmt: skip
            except _Cut:
                stops.pop(0)
                offset = _offset_after_cut(http, location, offset)
                resumed_from.append(offset)
                continue
            except httpx.TransportError:  # not our cut: the api refused while we sent
                response = None
            if response is None or response.status_code == 409:
                # the api still finishing the cut PATCH (409, or it closed on us): again
                time.sleep(0.5)
                offset = int(http.head(location, headers=TUS).headers["upload-offset"])
                retries += 1
                continue
            response.raise_for_status()
            break
        seconds = time.perf_counter() - started
    return _upload_figures(size, seconds, sampler) | {
        "cut_at": [int(size * fraction) for fraction in cuts],
        "resumed_from": resumed_from,
        "patches_refused": retries,
        "job_id": response.headers["upload-job-url"].rsplit("/", 1)[1],
    }


def _offset_after_cut(http: httpx.Client, location: str, before: int) -> int:
    """HEAD's offset once the api has taken in what arrived before the cut (it stops
    moving for 2 s), as a client asking right after the break would see it settle."""
    last = -1
    for _ in range(100):
        offset = int(http.head(location, headers=TUS).headers["upload-offset"])
        if offset == last:
            return offset
        last = offset
        time.sleep(2)
    raise RuntimeError(f"the upload's offset kept moving after the cut (from {before})")


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


def check_reports(
    url: str, namespace: str, jobs: Mapping[str, str], sha256: str, count: int, work: Path
) -> dict[str, Any]:
    """Wait for every job's report; each payload must be the file (its SHA-256), every
    report's totals the same and its records every invoice written."""
    store = redis.Redis()
    found: dict[str, Any] = {}
    with httpx.Client(base_url=url, timeout=60) as http:
        for name, job_id in jobs.items():
            record = decode_record(store.hgetall(Names(namespace).job(job_id)))  # type: ignore[arg-type]
            assert record is not None
            if record.payload_sha256 != sha256:
                raise AssertionError(f"{name}: the payload is not the file byte for byte")
            deadline = time.monotonic() + 1800
            while (status := http.get(f"/api/AsyncReports/status/{job_id}").json())[
                "status"
            ] not in ("Completed", "Failed"):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: no report after 30 min")
                time.sleep(2)
            if status["status"] != "Completed":
                raise AssertionError(f"{name}: {status}")
            archive = work / f"{job_id}.zip"
            with http.stream("GET", status["downloadUrl"]) as response, archive.open("wb") as out:
                for data in response.iter_bytes(1024 * 1024):
                    out.write(data)
            with zipfile.ZipFile(archive) as opened:
                manifest = json.loads(opened.read("manifest.json"))
            archive.unlink()
            found[name] = {"records": manifest["recordsProcessed"], "totals": manifest["totals"]}
    first = next(iter(found.values()))
    if first["records"] != count or any(report != first for report in found.values()):
        raise AssertionError(f"the reports differ: {found}")
    return {"reports_identical": len(found), "report_records": first["records"],
            "report_totals": first["totals"]}  # fmt: skip


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=500)
    parser.add_argument("--pollers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved multipart/tus pairs")
    args = parser.parse_args()
    ensure_redis()
    ensure_rabbitmq()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dataset = work / "datos.json"
        count = args.mb * 1_000_000 // INVOICE_BYTES
        write_invoices(dataset, count)
        access, secret = "bench-" + secrets.token_hex(4), secrets.token_urlsafe(24)
        s3 = start_s3(work, access, secret, port_base=27333)
        namespace = "bench" + secrets.token_hex(3)
        env = {"AR_S3_ENDPOINT": s3.endpoint, "AR_S3_ACCESS_KEY": access,
               "AR_S3_SECRET_KEY": secret, "AR_NAMESPACE": namespace, "AR_API_PORT": "8766",
               "AR_S3_BUCKET": namespace, "AR_LOG_LEVEL": "WARNING",
               "AR_CACHE_ENABLED": "false", "AR_MAX_CONCURRENT_JOBS": "2",
               "AR_TOKEN_SECRET": secrets.token_urlsafe(32)}  # fmt: skip
        logs = io.StringIO()  # warnings only; printed if the run fails
        supervisor = Supervisor([Service("api", [sys.executable, "-m", "reports_api"], env)], logs)
        supervisor.start()
        workers: Supervisor | None = None
        url = "http://127.0.0.1:8766"
        # No worker runs while uploading: announce the report type as a worker would.
        redis.Redis().hset(f"{namespace}:report-types", "FacturacionMasiva", "bench")
        try:
            _wait(url)
            api = supervisor.services["api"].process
            assert api is not None
            runs: list[dict[str, Any]] = []
            for round_ in range(1, args.rounds + 1):  # interleaved: multipart, tus, ...
                runs.append({"path": "multipart", "round": round_, **upload(url, dataset, api.pid)})
                runs.append({"path": "tus", "round": round_, **tus_upload(url, dataset, api.pid)})
            runs.append({"path": "tus, cut at 10/50/90 %", "round": 1,
                         **tus_upload(url, dataset, api.pid, cuts=(0.1, 0.5, 0.9))})  # fmt: skip
            results: dict[str, Any] = {
                "upload_mb": runs[0]["upload_mb"],
                "upload_seconds": runs[0]["upload_seconds"],
                "upload_mb_per_s": runs[0]["upload_mb_per_s"],
                "api_peak_rss_mb": runs[0]["api_peak_rss_mb"],
                "job_id": runs[0]["job_id"],
            }
            results |= asyncio.run(poll(url, str(results["job_id"]), args.pollers, args.seconds))
            results["load_average"] = [round(x, 2) for x in os.getloadavg()]
            # Now a worker builds every job's report.
            workers = Supervisor([Service("worker", [sys.executable, "-m", "reports_worker"],
                                          env)], logs)  # fmt: skip
            workers.start()
            jobs = {f"{run['path']} #{run['round']}": str(run["job_id"]) for run in runs}
            digest = hashlib.sha256()
            with dataset.open("rb") as handle:
                while data := handle.read(1024 * 1024):
                    digest.update(data)
            results |= check_reports(url, namespace, jobs, digest.hexdigest(), count, work)
            results["uploads"] = runs
        except BaseException:
            print(logs.getvalue(), file=sys.stderr)
            raise
        finally:
            if workers is not None:
                workers.stop()
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


def _report(results: Mapping[str, Any]) -> None:
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    results = {"machine": f"{os.cpu_count()} cores", **results}
    text = json.dumps(results, indent=2) + "\n"
    (out / "ingest.json").write_text(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"ingest-{stamp}.json").write_text(text)
    print(json.dumps(results))
    print("\n| figure | value |\n|---|---|")
    for key, value in results.items():
        if key != "uploads":
            print(f"| {key} | {value} |")
    print("\n| upload | round | MB/s | seconds | api RSS start → peak (MB) | resumed from |")
    print("|---|---:|---:|---:|---|---|")
    for run in results.get("uploads", []):
        print(f"| {run['path']} | {run['round']} | {run['upload_mb_per_s']} | "
              f"{run['upload_seconds']} | {run['api_start_rss_mb']} → {run['api_peak_rss_mb']} | "
              f"{run.get('resumed_from', '')} |")  # fmt: skip


if __name__ == "__main__":
    main()
