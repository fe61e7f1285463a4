"""Peak memory of the stack's processes, sampled with psutil while a job runs; CPU used.

A *group* is a set of root processes (the api; the worker services). For each group the
sampler keeps, per phase of the job (upload, wait, download):

* ``tree``: the largest sum of RSS over one root and all its descendants (a worker
  service is a ``dramatiq`` parent and its worker child: the whole tree);
* ``process``: the largest RSS of any single process of the group (the worker child
  that builds the report, for the workers);
* ``pss``: the largest PSS sum over one tree (pages shared by parent and child counted
  once, so the honest cost of a tree), read from ``smaps_rollup`` at every sample (0.13 ms
  a process, as cheap as RSS).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import psutil

MB = 1024 * 1024
#: Sampling period of RSS and PSS.
PERIOD_SECONDS = 0.05


def _members(root: psutil.Process) -> list[psutil.Process]:
    """``root`` and its descendants, looked up at every sample: a build's helper process
    lives as long as its build, under a second at 45,000 invoices, and a tree looked up
    once a second missed it in most runs (a 45,000-invoice build's tree peaked at 110 MB
    PSS in e2e-20261207T003653Z, 140 MB sampled every 30 ms with the tree looked up each
    time)."""
    with contextlib.suppress(psutil.Error):
        return [root, *root.children(recursive=True)]
    return [root]


class MemorySampler:
    """A thread that samples memory of process groups; peaks per group, figure and phase."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self._groups = groups
        self._roots: dict[int, psutil.Process] = {}
        self.phase = "before"
        self.peaks: dict[tuple[str, str, str], float] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def switch(self, phase: str) -> None:
        """End the current phase with one last sample (a phase may be shorter than the
        sampling period: a 500-invoice job's wait left no PSS figure), then start ``phase``."""
        self._sample()
        self.phase = phase

    def __enter__(self) -> MemorySampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def peak(self, group: str, figure: str, phases: tuple[str, ...] | None = None) -> float:
        """Peak in MB of ``figure`` of ``group`` over ``phases`` (all when None)."""
        values = [
            value
            for (g, f, phase), value in self.peaks.items()
            if g == group and f == figure and (phases is None or phase in phases)
        ]
        return round(max(values, default=0.0), 1)

    def _run(self) -> None:
        while not self._stop.wait(PERIOD_SECONDS):
            self._sample()

    def _root(self, pid: int) -> psutil.Process | None:
        root = self._roots.get(pid)
        if root is None:
            try:
                root = self._roots[pid] = psutil.Process(pid)
            except psutil.Error:
                return None
        return root

    def _sample(self) -> None:
        with self._lock:
            self._sample_locked()

    def _sample_locked(self) -> None:
        phase = self.phase
        for group, roots in self._groups.items():
            tree_max = process_max = pss_max = 0
            for pid in roots():
                root = self._root(pid)
                if root is None:
                    continue
                rss_sum = pss_sum = 0
                for process in _members(root):
                    try:
                        memory = process.memory_full_info()
                    except psutil.Error:
                        continue
                    rss = memory.rss
                    pss_sum += memory.pss
                    rss_sum += rss
                    process_max = max(process_max, rss)
                tree_max = max(tree_max, rss_sum)
                pss_max = max(pss_max, pss_sum)
            self._record(group, "tree", phase, tree_max)
            self._record(group, "process", phase, process_max)
            self._record(group, "pss", phase, pss_max)

    def _record(self, group: str, figure: str, phase: str, value: int) -> None:
        key = (group, figure, phase)
        self.peaks[key] = max(self.peaks.get(key, 0.0), value / MB)


class CpuMeter:
    """CPU seconds used by each group of the stack's process trees, by this process (and
    the load generators it waited for), and by the whole machine.

    On a shared machine the difference is what other work took while we measured:
    ``otherCores`` is the average number of cores busy with something else.
    """

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self._groups = groups
        self._start: dict[tuple[str, int], float] = {}
        self._machine = 0.0
        self._own = 0.0
        self._wall = 0.0
        self.figures: dict[str, float] = {}

    @staticmethod
    def _machine_busy() -> float:
        times = psutil.cpu_times()
        return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))

    @staticmethod
    def _own_cpu() -> float:
        times = psutil.Process().cpu_times()
        return float(times.user + times.system + times.children_user + times.children_system)

    def _stack(self) -> dict[tuple[str, int], float]:
        used: dict[tuple[str, int], float] = {}
        for group, roots in self._groups.items():
            for pid in roots():
                try:
                    root = psutil.Process(pid)
                    for process in [root, *root.children(recursive=True)]:
                        # With its reaped children: a build's helper processes live only
                        # as long as the build, and their time then counts in their
                        # parent's (the fork server's) children times.
                        times = process.cpu_times()
                        used[group, process.pid] = (
                            times.user + times.system + times.children_user + times.children_system
                        )
                except psutil.Error:
                    continue
        return used

    def __enter__(self) -> CpuMeter:
        self._start = self._stack()
        self._machine = self._machine_busy()
        self._own = self._own_cpu()
        self._wall = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = max(time.monotonic() - self._wall, 1e-9)
        machine = self._machine_busy() - self._machine
        own = self._own_cpu() - self._own
        by_group = dict.fromkeys(self._groups, 0.0)
        for (group, pid), used in self._stack().items():
            by_group[group] += used - self._start.get((group, pid), 0.0)
        stack = sum(by_group.values())
        self.figures = {
            "stackCpuSeconds": round(stack, 2),
            **{f"{group}CpuSeconds": round(used, 2) for group, used in by_group.items()},
            "benchCpuSeconds": round(own, 2),
            "machineBusyCores": round(machine / wall, 2),
            "otherCores": round(max(0.0, machine - stack - own) / wall, 2),
        }


def wait_for_quiet(
    groups: dict[str, Callable[[], list[int]]], threshold: float, max_wait: float
) -> dict[str, float]:
    """Wait (at most ``max_wait`` s) until other work on the machine takes fewer than
    ``threshold`` cores over one second; how long it waited and what it saw last."""
    if max_wait <= 0:
        return {"quietWaitSeconds": 0.0}
    started = time.monotonic()
    while True:
        with CpuMeter(groups) as meter:
            time.sleep(1.0)
        other = meter.figures["otherCores"]
        waited = time.monotonic() - started
        if other < threshold or waited >= max_wait:
            return {"quietWaitSeconds": round(waited, 1), "otherCoresBefore": other}
