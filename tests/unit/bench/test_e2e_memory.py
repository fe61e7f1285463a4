"""The benchmark's memory sampler sees a child that lives less than a second
(bench/e2e_memory.py): a build's helper process lives as long as its build."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[3] / "bench"
#: Memory the short-lived child holds (MB): far above what a bare interpreter differs by.
HELD_MB = 120


def test_a_child_started_after_sampling_began_is_counted_in_its_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a sampler of this process's tree, already sampling
    monkeypatch.syspath_prepend(str(BENCH))
    memory = importlib.import_module("e2e_memory")
    sampler = memory.MemorySampler({"me": lambda: [os.getpid()]})
    with sampler:
        time.sleep(0.3)
        before = sampler.peak("me", "tree")

        # When a child holding 120 MB lives for half a second
        subprocess.run(
            [sys.executable, "-c", f"b = b'x' * ({HELD_MB} << 20); import time; time.sleep(0.5)"],
            check=True,
        )

    # Then the tree's peak (RSS and PSS) counts it
    assert sampler.peak("me", "tree") >= before + HELD_MB * 0.9
    assert sampler.peak("me", "pss") >= HELD_MB * 0.9


def test_a_phase_shorter_than_the_sampling_period_still_has_its_pss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a sampler of this process, and phases that end before the next sample is due
    monkeypatch.syspath_prepend(str(BENCH))
    memory = importlib.import_module("e2e_memory")
    monkeypatch.setattr(memory, "PERIOD_SECONDS", 60.0)
    with memory.MemorySampler({"me": lambda: [os.getpid()]}) as sampler:
        for phase in ("upload", "wait", "download"):
            sampler.switch(phase)

    # Then each phase has a PSS figure (a job's wait had none: its ratios divided by zero)
    for phase in ("upload", "wait", "download"):
        assert sampler.peak("me", "pss", (phase,)) > 0, phase
