"""The end-to-end benchmark harness still runs: tiny sizes, every phase, no speed asserted."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.infra import Infra

REPO_ROOT = Path(__file__).parents[2]
HARNESS = REPO_ROOT / "bench" / "bench_e2e.py"
RECORDS = 500

RUN_FIGURES = {
    "uploadSeconds", "queueWaitSeconds", "processingSeconds", "downloadSeconds",
    "totalSeconds", "recordsPerSecond", "apiUploadPeakRssMB", "apiPeakRssMB",
    "workerTreePeakRssMB", "workerProcessPeakRssMB", "zipBytes", "inputBytes",
}  # fmt: skip
POLL_FIGURES = {"tool", "requestsPerSecond", "p50Ms", "p99Ms", "errors"}


def _python() -> list[str]:
    """This interpreter if it has the bench group (pandas, polars, matplotlib), else uv adds it."""
    if all(
        importlib.util.find_spec(name) for name in ("pandas", "matplotlib", "openpyxl", "polars")
    ):
        return [sys.executable]
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("the bench dependency group is not installed and uv is not on PATH")
    return [uv, "run", "--frozen", "--group", "bench", "python"]


def _run_harness(infra: Infra, out: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "AR_REDIS_URL": infra.redis_url,
        "AR_AMQP_URL": infra.amqp_url,
        "AR_S3_ENDPOINT": infra.s3_endpoint,
        "AR_S3_ACCESS_KEY": infra.s3_access_key,
        "AR_S3_SECRET_KEY": infra.s3_secret_key,
    }
    command = [
        *_python(), str(HARNESS), "--sizes", str(RECORDS), "--repeat", "1",
        "--throughput-jobs", "2", "--throughput-size", str(RECORDS),
        "--poll-seconds", "1", "--poll-connections", "8", "--baseline-timeout", "60",
        "--quiet-wait", "0", "--status-rounds", "1", "--status-seconds", "1",
        "--cache", str(out / "datasets"), "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=200, check=False
    )
    assert done.returncode == 0, f"harness failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    found = sorted(out.glob("e2e-*.json"))
    assert len(found) == 1, sorted(p.name for p in out.iterdir())
    document: dict[str, Any] = json.loads(found[0].read_text())
    return document


@pytest.mark.timeout(300)
def test_harness_writes_every_figure(infra: Infra, tmp_path: Path) -> None:
    # Given a stack started by the harness, tiny datasets, the old way on the same size
    # When the harness runs every phase once
    document = _run_harness(infra, tmp_path)

    # Then the results hold a measured job with every figure
    (size,) = document["sizes"]
    assert size["records"] == RECORDS
    (run,) = size["e2e"]["runs"]
    assert run.keys() >= RUN_FIGURES
    assert run["records"] == RECORDS and run["zipBytes"] > 0
    assert run["workerTreePeakRssMB"] > 0 and run["apiUploadPeakRssMB"] > 0
    assert {"min", "median", "max"} == size["e2e"]["summary"]["totalSeconds"].keys()
    # and the same job on the helper stack, run in turn with the default one
    (helped,) = size["e2eHelpers"]["runs"]
    assert helped["records"] == RECORDS and helped["workerTreePeakRssMB"] > 0
    # and the stages of a build, and the old way measured in the same run, with ratios
    assert size["stages"]["records"] == RECORDS and "parse" in size["stages"]["stages"]
    (baseline,) = size["baseline"]["runs"]
    assert baseline["status"] == "ok", baseline
    assert baseline["records"] == RECORDS and baseline["peakRssMB"] > 0
    # The best peer runs between the stack's jobs too (the bench group has polars).
    (peer,) = size["peer"]["runs"]
    assert peer["status"] == "ok", peer
    assert peer["records"] == RECORDS and peer["peakRssMB"] > 0 and "totals" not in peer
    (ratio,) = document["ratios"]
    assert ratio["records"] == RECORDS and ratio["speedupEndToEnd"]["median"] > 0
    # and the quoted seed figure, labelled as quoted
    assert "quoted" in document["quoted"]["label"]
    # and several jobs under the cap, and status polling idle and busy
    assert document["throughput"]["jobs"] == 2 and document["throughput"]["jobsPerMinute"] > 0
    assert document["polling"]["idle"].keys() >= POLL_FIGURES
    assert document["polling"]["busy"].keys() >= POLL_FIGURES
    # and the status beside a bare endpoint, in each of its states (one short round)
    beside = document["statusVsBare"]["targets"]
    assert beside.keys() == {"bare", "queued", "running", "completed"}, beside
    assert all(t["requestsPerSecond"] > 0 and t["errors"] == 0 for t in beside.values()), beside
    # and the targets, the machine, the Markdown table and the chart
    assert {row["target"] for row in document["targets"]}
    assert document["machine"]["nproc"] >= 1 and document["machine"]["cpuModel"]
    markdown = (tmp_path / document["markdown"]).read_text()
    assert "| stack | 500 |" in markdown and "old way" in markdown and "best peer" in markdown
    assert document["chart"] and (tmp_path / document["chart"]).stat().st_size > 0
