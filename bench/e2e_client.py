"""One job through the real api, as a client does it: upload, poll, download; timed."""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from e2e_memory import MemorySampler

PREFIX = "/api/AsyncReports"
BOUNDARY = "benche2eboundary9QpZx3LmT0w"
#: Payloads from this size on are flagged ``isLargeDataset`` (the api's own threshold).
LARGE_BYTES = 50 * 1024 * 1024
CHUNK = 1024 * 1024


def _fields(large: bool) -> bytes:
    values = {
        "reportType": "FacturacionMasiva",
        "userName": "bench@empresa.com",
        "isLargeDataset": "true" if large else "false",
    }
    head = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in values.items()
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="dataFile"; '
        'filename="facturas.json"\r\nContent-Type: application/json\r\n\r\n'
    )
    return head.encode()


_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


def _body(head: bytes, path: Path) -> Iterator[bytes]:
    yield head
    with path.open("rb") as handle:
        while data := handle.read(CHUNK):
            yield data
    yield _TAIL


def submit(client: httpx.Client, path: Path) -> tuple[str, float]:
    """Upload ``path`` as multipart (streamed from disk, with Content-Length); job id, s."""
    size = path.stat().st_size
    head = _fields(size >= LARGE_BYTES)
    started = time.perf_counter()
    response = client.post(
        f"{PREFIX}/queue-multipart",
        content=_body(head, path),
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(len(head) + size + len(_TAIL)),
        },
    )
    seconds = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text[:500]}")
    return str(response.json()["jobId"]), seconds


def status(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """The job's status document."""
    response = client.get(f"{PREFIX}/status/{job_id}")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def wait_finished(
    client: httpx.Client, job_id: str, interval: float, timeout: float
) -> dict[str, Any]:
    """Poll until Completed (its status); raises if Failed or too slow."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = status(client, job_id)
        if body["status"] == "Completed":
            return body
        if body["status"] == "Failed":
            raise RuntimeError(f"job {job_id} failed: {body.get('error') or body.get('message')}")
        time.sleep(interval)
    raise RuntimeError(f"job {job_id} did not finish within {timeout:.0f} s")


def download(client: httpx.Client, url: str, dest: Path) -> tuple[int, float]:
    """Stream the ZIP to ``dest``; bytes and seconds. Checks it is a ZIP with its files."""
    started = time.perf_counter()
    size = 0
    with client.stream("GET", url) as response, dest.open("wb") as out:
        response.raise_for_status()
        for chunk in response.iter_bytes(CHUNK):
            out.write(chunk)
            size += len(chunk)
    seconds = time.perf_counter() - started
    with zipfile.ZipFile(dest) as archive:
        names = set(archive.namelist())
    if not {"facturas.xlsx", "facturas.csv", "facturas_detalle.csv"} <= names:
        raise RuntimeError(f"unexpected ZIP contents: {sorted(names)}")
    return size, seconds


@dataclass(frozen=True)
class JobRun:
    """How to run one measured job."""

    dataset: Path
    records: int
    scratch: Path
    poll_interval: float = 0.05
    timeout: float = 1800.0


def run_job(client: httpx.Client, run: JobRun, sampler: MemorySampler) -> dict[str, Any]:
    """Upload, wait and download one job with ``sampler`` watching; its figures."""
    started = time.perf_counter()
    sampler.switch("upload")
    job_id, upload_s = submit(client, run.dataset)
    sampler.switch("wait")
    done = wait_finished(client, job_id, run.poll_interval, run.timeout)
    finished = time.perf_counter()
    sampler.switch("download")
    zip_path = run.scratch / f"{job_id}.zip"
    zip_bytes, download_s = download(client, done["downloadUrl"], zip_path)
    total_s = time.perf_counter() - started
    sampler.switch("after")
    zip_path.unlink()
    metrics = done["performanceMetrics"]
    queue_s = metrics["queueWaitMs"] / 1000
    processing_s = metrics["processingTimeMs"] / 1000
    size = run.dataset.stat().st_size
    return {
        "jobId": job_id,
        "records": metrics["recordsProcessed"],
        "inputBytes": size,
        "uploadSeconds": round(upload_s, 3),
        "uploadMBps": round(size / 1e6 / upload_s, 1),
        "queueWaitSeconds": round(queue_s, 3),
        "processingSeconds": round(processing_s, 3),
        # Between the end of processing and the client seeing Completed (status write,
        # poll interval), plus any gap between the upload's answer and the job record.
        "notifySeconds": round(max(0.0, finished - started - upload_s - queue_s - processing_s), 3),
        "downloadSeconds": round(download_s, 3),
        "totalSeconds": round(total_s, 3),
        "recordsPerSecond": round(metrics["recordsProcessed"] / processing_s)
        if processing_s
        else None,
        "e2eRecordsPerSecond": round(metrics["recordsProcessed"] / total_s),
        "zipBytes": zip_bytes,
        "apiUploadPeakRssMB": sampler.peak("api", "tree", ("upload",)),
        "apiPeakRssMB": sampler.peak("api", "tree"),
        "workerTreePeakRssMB": sampler.peak("worker", "tree", ("wait",)),
        "workerProcessPeakRssMB": sampler.peak("worker", "process", ("wait",)),
        "workerTreePeakPssMB": sampler.peak("worker", "pss", ("wait",)),
        "workerIdleRssMB": sampler.peak("worker", "tree", ("before",)),
        "workerReportedMB": metrics["memoryUsageMB"],
    }
