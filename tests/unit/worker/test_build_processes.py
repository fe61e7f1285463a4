"""The cores a worker counts for its builds: affinity, within a container's CPU quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reports_worker import machine


@pytest.mark.parametrize(
    ("cpu_max", "limit"),
    [
        ("max 100000\n", None),
        ("100000 100000\n", 1),
        ("150000 100000\n", 1),
        ("50000 100000", 1),
        ("200000 100000", 2),
    ],
)
def test_a_cgroup_quota_bounds_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_max: str, limit: int | None
) -> None:
    affinity = len(os.sched_getaffinity(0))
    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    monkeypatch.setattr(machine, "CPU_MAX", path)
    assert machine.usable_cores() == (affinity if limit is None else min(affinity, limit))


def test_without_a_cgroup_file_every_core_of_the_affinity_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(machine, "CPU_MAX", tmp_path / "absent")
    monkeypatch.setattr(machine, "CFS_QUOTA", tmp_path / "absent-too")
    assert machine.usable_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(("quota", "limit"), [("-1", None), ("100000", 1), ("50000", 1)])
def test_a_cgroup_v1_quota_bounds_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quota: str, limit: int | None
) -> None:
    affinity = len(os.sched_getaffinity(0))
    (tmp_path / "quota").write_text(quota + "\n")
    (tmp_path / "period").write_text("100000\n")
    monkeypatch.setattr(machine, "CPU_MAX", tmp_path / "absent")
    monkeypatch.setattr(machine, "CFS_QUOTA", tmp_path / "quota")
    monkeypatch.setattr(machine, "CFS_PERIOD", tmp_path / "period")
    assert machine.usable_cores() == (affinity if limit is None else min(affinity, limit))


@pytest.mark.parametrize(
    ("setting", "cpu_max", "allowed"),
    [
        (1, "max 100000", False),  # the default: one process, whatever the cores
        (2, "100000 100000", True),  # asked for: even on one core
        (0, "100000 100000", False),  # auto on one core: nothing to share
        (0, "200000 100000", True),  # auto on two (this machine has at least two)
    ],
)
def test_helpers_are_allowed_when_asked_for_or_automatic_on_more_than_one_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: int, cpu_max: str, allowed: bool
) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two cores in this process's affinity")
    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    monkeypatch.setattr(machine, "CPU_MAX", path)
    assert machine.helpers_allowed(setting) is allowed
