"""Figures of the end-to-end benchmark: summaries, ratios, targets, Markdown and a chart."""

from __future__ import annotations

import os
import platform
import statistics
from pathlib import Path
from typing import Any

import psutil

#: The seed's published figure, quoted (it is not measured here).
QUOTED_SEED: dict[str, Any] = {
    "label": "seed (quoted, not measured)",
    "records": 45_000,
    "seconds": 330.0,
    "peakRssMB": 256.0,
    "source": "the seed's README: 45,000 records in 330 s and 256 MB",
}
#: Sizes the targets speak of.
TARGET_SMALL = 45_000
TARGET_LARGE_FROM = 500_000


def machine() -> dict[str, Any]:
    """The machine the run is on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "ramGiB": round(psutil.virtual_memory().total / 2**30, 1),
        "cpuModel": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadAverageAtStart": [round(x, 2) for x in os.getloadavg()],
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """min, median and max of every numeric figure of ``runs``."""
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float) and not isinstance(v, bool)]
    out: dict[str, dict[str, float]] = {}
    for key in keys:
        values = [run[key] for run in runs if isinstance(run.get(key), int | float)]
        if values:
            out[key] = {"min": min(values), "median": statistics.median(values),
                        "max": max(values)}  # fmt: skip
    return out


def _ratio(top: dict[str, float], bottom: dict[str, float]) -> dict[str, float]:
    """top/bottom: from the medians, and the worst and best pairings of the runs."""
    return {
        "median": round(top["median"] / bottom["median"], 1),
        "worst": round(top["min"] / bottom["max"], 1),
        "best": round(top["max"] / bottom["min"], 1),
    }


def ratios(
    size: dict[str, Any], source: str = "e2e", against: str = "baseline"
) -> dict[str, Any] | None:
    """How the product compares with ``against`` (``baseline``, the old way, or ``peer``,
    the best peer) measured in the same run, for one size."""
    base = (size.get(against) or {}).get("summary")
    e2e = (size.get(source) or {}).get("summary")
    if not base or "seconds" not in base or not e2e:
        return None
    return {
        "records": size["records"],
        "speedupEndToEnd": _ratio(base["seconds"], e2e["totalSeconds"]),
        "speedupProcessing": _ratio(base["seconds"], e2e["processingSeconds"]),
        "lessMemoryVsWorkerTree": _ratio(base["peakRssMB"], e2e["workerTreePeakRssMB"]),
        "lessMemoryVsWorkerProcess": _ratio(base["peakRssMB"], e2e["workerProcessPeakRssMB"]),
        "lessMemoryVsWorkerTreePss": _ratio(base["peakRssMB"], e2e["workerTreePeakPssMB"]),
    }


def quoted_ratios(sizes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The new way against the seed's quoted figure (same record count only)."""
    for size in sizes:
        if size["records"] == QUOTED_SEED["records"]:
            e2e = size["e2e"]["summary"]
            seconds = {"min": QUOTED_SEED["seconds"], "median": QUOTED_SEED["seconds"],
                       "max": QUOTED_SEED["seconds"]}  # fmt: skip
            memory = {k: QUOTED_SEED["peakRssMB"] for k in ("min", "median", "max")}
            return {
                "records": size["records"],
                "speedupEndToEnd": _ratio(seconds, e2e["totalSeconds"]),
                "lessMemoryVsWorkerTree": _ratio(memory, e2e["workerTreePeakRssMB"]),
            }
    return None


def _target(
    name: str, value: float | None, limit: float, worst: float | None, at_most: bool = True
) -> dict[str, Any]:
    met = None if value is None else (value <= limit if at_most else value >= limit)
    kind = "at most" if at_most else "at least"
    return {"target": name, "kind": kind, "limit": limit, "value": value, "worstRun": worst,
            "met": met}  # fmt: skip


_WHAT = {
    "workerTreePeakRssMB": "whole tree",
    "workerTreePeakPssMB": "whole tree, PSS",
    "workerProcessPeakRssMB": "one process",
}


def targets(
    sizes: list[dict[str, Any]],
    ratio_rows: list[dict[str, Any]],
    source: str = "e2e",
    peer_rows: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The issues' targets, judged on medians (the worst run beside); None where not run.

    ``source``: which stack's runs (``e2e``, the default stack, or ``e2eHelpers``);
    ``ratio_rows`` against the old way, ``peer_rows`` against the best peer.
    """
    small = next((s for s in sizes if s["records"] == TARGET_SMALL), None)
    largest = max(sizes, key=lambda s: s["records"])
    large = largest if largest["records"] >= TARGET_LARGE_FROM else None
    big = f"{large['records']:,}" if large else "~500 MB"
    ratio_of = {row["records"]: row for row in ratio_rows}
    rows: list[dict[str, Any]] = []

    def summary(size: dict[str, Any] | None) -> dict[str, Any]:
        return ((size or {}).get(source) or {}).get("summary") or {}

    def e2e(size: dict[str, Any] | None, key: str, limit: float, name: str) -> None:
        figure = summary(size).get(key)
        value, worst = (figure["median"], figure["max"]) if figure else (None, None)
        rows.append(_target(name, value, limit, worst))

    peer_of = {row["records"]: row for row in peer_rows or []}

    def ratio(
        size: dict[str, Any] | None, key: str, limit: float, name: str, rows_of: Any = ratio_of
    ) -> None:
        row = rows_of.get(size["records"]) if size else None
        value, worst = (row[key]["median"], row[key]["worst"]) if row else (None, None)
        rows.append(_target(name, value, limit, worst, at_most=False))

    e2e(small, "processingSeconds", 2, "45,000: processing (s)")
    e2e(small, "totalSeconds", 4, "45,000: end to end (s)")
    for key, what in _WHAT.items():
        e2e(small, key, 100, f"45,000: worker peak RSS, {what} (MB)")
    e2e(large, "totalSeconds", 40, f"{big}: end to end (s)")
    e2e(large, "apiUploadPeakRssMB", 150, f"{big}: api peak RSS during the upload (MB)")
    for key, what in _WHAT.items():
        e2e(large, key, 150, f"{big}: worker peak RSS, {what} (MB)")
    for key, what in _WHAT.items():
        growth = None
        if summary(small).get(key) and summary(large).get(key):
            before = summary(small)[key]["median"]
            growth = round(summary(large)[key]["median"] / before, 2)
        rows.append(_target(f"memory flat 45,000 → {big}: worker {what} (x)", growth, 1.2, None))
    ratio(small, "speedupEndToEnd", 10, "45,000: faster than the old way, end to end (x)")
    for key, what in (("lessMemoryVsWorkerTree", "whole tree"),
                      ("lessMemoryVsWorkerTreePss", "whole tree, PSS")):  # fmt: skip
        ratio(small, key, 4, f"45,000: less memory than the old way, worker {what} (x)")
        ratio(large, key, 25, f"{big}: less memory than the old way, worker {what} (x)")
    if peer_rows is not None:
        for size, label in ((small, "45,000"), (large, big)):
            ratio(size, "speedupEndToEnd", 3,
                  f"{label}: faster than the best peer, end to end (x)", peer_of)  # fmt: skip
        ratio(small, "lessMemoryVsWorkerTreePss", 5,
              "45,000: less memory than the best peer, worker PSS (x)", peer_of)  # fmt: skip
        ratio(large, "lessMemoryVsWorkerTreePss", 25,
              f"{big}: less memory than the best peer, worker PSS (x)", peer_of)  # fmt: skip
    if source == "e2e":  # the default stack's run beside the helper stack's
        for size, label in ((small, "45,000"), (large, big)):
            gain, worst = _lone_gain(size)
            rows.append(_target(f"{label}: lone build, one process's processing time over "
                                "a helper's (x)", gain, 1.7, worst, at_most=False))  # fmt: skip
    return rows


def _lone_gain(size: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """How much faster a lone job is processed with a helper (the second stack of the run)
    than in one process (the default), and the least of it.

    The two stacks' jobs run in turn, default then helpers: each pair's ratio moves little
    with a drifting machine, where the ratio of the medians takes the drift with it.
    Without pairs (runs of unequal number), the ratio of the medians.
    """
    if not size or not size.get("e2eHelpers"):
        return None, None
    one_runs, helped_runs = size["e2e"].get("runs", []), size["e2eHelpers"].get("runs", [])
    pairs = [
        float(one["processingSeconds"]) / float(helped["processingSeconds"])
        for one, helped in zip(one_runs, helped_runs, strict=False)
        if one.get("processingSeconds") and helped.get("processingSeconds")
    ]
    if pairs and len(pairs) == len(one_runs) == len(helped_runs):
        return round(statistics.median(pairs), 2), round(min(pairs), 2)
    one = size["e2e"]["summary"]["processingSeconds"]["median"]
    helped = size["e2eHelpers"]["summary"]["processingSeconds"]["median"]
    return round(float(one) / float(helped), 2), None


def status_targets(result: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The status endpoint against the bare one (status_vs_bare.compare's result)."""
    if not result:
        return []
    rows = []
    for state, t in result["targets"].items():
        if state == "bare":
            continue
        rows.append(_target(f"status of a {state} job: requests/s over the bare endpoint's (x)",
                            t["ratioToBare"], 0.8, None, at_most=False))  # fmt: skip
        rows.append(_target(f"status of a {state} job: p99 at {result['connections']} "
                            "connections (ms)", t["p99Ms"], 50, t["p99MsRange"][1]))  # fmt: skip
    return rows
