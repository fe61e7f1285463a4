"""The end-to-end benchmark judges the targets against the best peer and the bare status
endpoint from the run's own figures (bench/e2e_report.py)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).parents[3] / "bench"


@pytest.fixture
def report(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("e2e_report")


def figures(**medians: float) -> dict[str, Any]:
    return {"summary": {k: {"min": v, "median": v, "max": v} for k, v in medians.items()}}


def size(records: int, total: float, processing: float, pss: float) -> dict[str, Any]:
    rss = {"workerTreePeakRssMB": pss * 1.4, "workerProcessPeakRssMB": pss * 0.8}
    return {
        "records": records,
        "e2e": figures(
            totalSeconds=total, processingSeconds=processing, workerTreePeakPssMB=pss, **rss
        ),
        "e2eHelpers": figures(
            totalSeconds=total / 1.5,
            processingSeconds=processing / 1.8,
            workerTreePeakPssMB=pss * 1.25,
            **rss,
        ),
        "peer": figures(seconds=total * 3.5, peakRssMB=pss * 4),
        "baseline": figures(seconds=total * 12, peakRssMB=pss * 5),
    }


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["target"]: row for row in rows}


def test_the_peers_ratios_and_the_lone_build_are_judged_per_size(report: ModuleType) -> None:
    sizes = [size(45_000, 2.0, 1.5, 90.0), size(600_000, 30.0, 25.0, 100.0)]
    old = [r for s in sizes if (r := report.ratios(s))]
    peer = [r for s in sizes if (r := report.ratios(s, against="peer"))]

    rows = by_name(report.targets(sizes, old, peer_rows=peer))

    faster = rows["600,000: faster than the best peer, end to end (x)"]
    assert (faster["value"], faster["met"]) == (3.5, True)
    memory = rows["45,000: less memory than the best peer, worker PSS (x)"]
    assert (memory["value"], memory["met"]) == (4.0, False)  # 5x asked
    lone = rows["45,000: lone build, one process's processing time over a helper's (x)"]
    assert (lone["value"], lone["met"]) == (1.8, True)
    assert rows["45,000: faster than the old way, end to end (x)"]["met"] is True  # 12 >= 10


def test_the_lone_build_is_judged_on_each_pair_of_runs_in_turn(report: ModuleType) -> None:
    # Given runs in turn (default, helpers, ...) on a machine that slowed down midway
    entry = size(45_000, 2.0, 1.5, 90.0)
    entry["e2e"]["runs"] = [{"processingSeconds": s} for s in (2.7, 1.2, 4.5)]
    entry["e2eHelpers"]["runs"] = [{"processingSeconds": s} for s in (1.0, 2.0, 3.0)]
    entry["e2e"]["summary"]["processingSeconds"]["median"] = 2.7
    entry["e2eHelpers"]["summary"]["processingSeconds"]["median"] = 2.0

    # When the targets are judged
    rows = by_name(report.targets([entry], [r for r in [report.ratios(entry)] if r]))

    # Then on the pairs' ratios (2.7, 0.6, 1.5): their median, and the least as the worst run
    lone = rows["45,000: lone build, one process's processing time over a helper's (x)"]
    assert (lone["value"], lone["worstRun"], lone["met"]) == (1.5, 0.6, False)


def test_without_a_peer_run_its_targets_are_left_out(report: ModuleType) -> None:
    sizes = [size(45_000, 2.0, 1.5, 90.0)]
    old = [r for s in sizes if (r := report.ratios(s))]

    names = by_name(report.targets(sizes, old))

    assert not [name for name in names if "peer" in name]


def test_the_status_is_judged_against_the_bare_endpoint_in_the_same_run(
    report: ModuleType,
) -> None:
    def target(ratio: float, p99: float) -> dict[str, Any]:
        return {"ratioToBare": ratio, "p99Ms": p99, "p99MsRange": [p99 / 2, p99 * 2]}

    result = {"connections": 64, "targets": {"bare": target(1.0, 20),
                                              "queued": target(0.85, 40),
                                              "completed": target(0.7, 60)}}  # fmt: skip

    rows = by_name(report.status_targets(result))

    ratio = "status of a {} job: requests/s over the bare endpoint's (x)"
    assert rows[ratio.format("queued")]["met"] is True
    assert rows[ratio.format("completed")]["met"] is False
    assert rows["status of a completed job: p99 at 64 connections (ms)"]["met"] is False
    assert not [name for name in rows if "bare job" in name]
    assert report.status_targets(None) == []
