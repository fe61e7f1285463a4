"""The cores this machine lets a build use: CPU affinity, within a container's CPU quota."""

from __future__ import annotations

import os
from pathlib import Path

#: Most processes a build takes by itself (more helpers gain little: the building
#: process, which cuts the payload and writes every part, becomes the limit).
AUTO_MAX_PROCESSES = 4
#: CPU limits of a container: cgroup v2 (``max`` or ``<quota> <period>``), then v1.
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
CFS_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CFS_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def usable_cores() -> int:
    """Cores this process may use: its CPU affinity, within a container's CPU quota."""
    cores = len(os.sched_getaffinity(0))
    quota = _cpu_quota()
    return min(cores, max(1, int(quota))) if quota is not None else cores


def helpers_allowed(build_processes: int) -> bool:
    """Whether a build may ever use helper processes with ``AR_BUILD_PROCESSES`` set to
    ``build_processes`` (more than one, or 0 on more than one core): what the worker
    starts the helpers' server for."""
    return build_processes > 1 or (build_processes == 0 and usable_cores() > 1)


def _cpu_quota() -> float | None:
    """The container's CPU quota in cores, None if it has none (or it cannot be read)."""
    try:
        limit, period = CPU_MAX.read_text().split()
        return None if limit == "max" else int(limit) / int(period)
    except (OSError, ValueError):
        pass
    try:
        limit_us = int(CFS_QUOTA.read_text())
        return None if limit_us <= 0 else limit_us / int(CFS_PERIOD.read_text())
    except (OSError, ValueError):
        return None
