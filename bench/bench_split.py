"""How a build splits its work with helper processes: CPU per process, memory by tree.

    uv run --group bench python bench/bench_split.py FILE [--processes 1 2] [--repeat 5]

Each build runs in a fresh child, the configurations interleaved (1, 2, 1, 2, ...), the
helpers' server started before the build as the worker starts it. Besides wall time,
which a loaded machine stretches at will, each run reports what the load moves much
less: the CPU seconds of the building process and of its helpers (read from ``/proc``
every 20 ms), and the critical path they imply, the larger of the two. With two free
cores a split build takes about its critical path; one process takes its whole CPU. So
``one-process CPU / critical path`` is the speed-up the split allows on two idle cores,
whatever the machine is doing now. Memory is PSS (shared pages split between the
processes that share them), summed over the child's process tree at its peak; the
parts name each process's role at that moment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """User + system seconds of process ``pid`` (every thread of it)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _pss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    found, at = [root], 0
    while at < len(found):
        pid = found[at]
        at += 1
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as children:
                    found += [int(child) for child in children.read().split()]
        except OSError:
            continue
    return found


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "build"
    try:
        with open(f"/proc/{pid}/cmdline") as cmdline:
            command = cmdline.read()
    except OSError:
        return "gone"
    if "resource_tracker" in command:
        return "tracker"
    if "forkserver import main" in command and _parent(pid) == root:
        return "server"
    return "helper"


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


class Sampler:
    """Samples this process's tree: last CPU seen per process, PSS at the tree's peak."""

    def __init__(self) -> None:
        self.root = os.getpid()
        self.cpu: dict[int, float] = {}
        self.roles: dict[int, str] = {}
        self.peak_mb = 0.0
        self.peak_parts: dict[str, float] = {}
        self._stop = threading.Event()
        self._before: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Take a first sample (the CPU already spent is subtracted) and go on sampling."""
        self._sample()
        self._before = dict(self.cpu)
        self._thread.start()

    def stop(self) -> None:
        """Stop, after one last sample."""
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()

    def _sample(self) -> None:
        pss: dict[str, float] = {}
        for pid in _tree(self.root):
            try:
                self.cpu[pid] = _cpu(pid)
                role = self.roles.setdefault(pid, _role(pid, self.root))
                pss[role] = pss.get(role, 0.0) + _pss_mb(pid)
            except OSError:
                continue
        if sum(pss.values()) > self.peak_mb:
            self.peak_mb, self.peak_parts = sum(pss.values()), pss

    def spent(self, role: str) -> float:
        """CPU seconds the processes of ``role`` spent since :meth:`start`."""
        return sum(
            seconds - self._before.get(pid, 0.0)
            for pid, seconds in self.cpu.items()
            if self.roles.get(pid) == role
        )


def child(path: Path, processes: int) -> dict[str, Any]:
    """Run in the child: one build, measured."""
    from reports_worker.building.forkserver import start_helper_server
    from reports_worker.reporttypes import build_report

    if processes > 1:
        start_helper_server()
        time.sleep(1.0)  # the worker starts it at start-up, long before any build
    sampler = Sampler()
    sampler.start()
    dest = Path(tempfile.mkdtemp(prefix="bench-")) / "out.zip"
    started = time.perf_counter()
    with path.open("rb") as source:
        outcome = build_report(
            "FacturacionMasiva",
            source,
            dest,
            job_id="bench-0000",
            options={},
            max_input_bytes=2 << 30,
            processes=processes,
        )
    seconds = time.perf_counter() - started
    sampler.stop()
    dest.unlink()
    dest.parent.rmdir()
    build_cpu, helper_cpu = sampler.spent("build"), sampler.spent("helper")
    return {
        "processes": processes,
        "seconds": seconds,
        "records": outcome.records_processed + outcome.records_rejected,
        "buildCpu": build_cpu,
        "helperCpu": helper_cpu,
        "criticalCpu": max(build_cpu, helper_cpu),
        "peakPssMB": sampler.peak_mb,
        "peakParts": sampler.peak_parts,
        "load": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    """Parent: run the children interleaved, print each run and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.path, args.child)))
        return 0
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in args.processes}
    for _ in range(args.repeat):
        for n in args.processes:
            out = subprocess.run(
                [sys.executable, __file__, str(args.path), "--child", str(n)],
                check=True,
                capture_output=True,
            ).stdout
            run = json.loads(out)
            runs[n].append(run)
            parts = " ".join(f"{role} {mb:.0f}" for role, mb in sorted(run["peakParts"].items()))
            print(
                f"processes {n}: {run['seconds']:.2f} s, CPU build {run['buildCpu']:.2f} "
                f"helpers {run['helperCpu']:.2f}, PSS {run['peakPssMB']:.0f} MB ({parts}), "
                f"load {run['load']:.1f}",
                file=sys.stderr,
            )
    one = statistics.median(run["buildCpu"] for run in runs.get(1, [])) if 1 in runs else None
    for n, mine in runs.items():
        critical = statistics.median(run["criticalCpu"] for run in mine)
        allowed = f", speed-up allowed on 2 idle cores {one / critical:.2f}x" if one else ""
        print(
            f"processes {n} ({len(mine)} runs, medians): "
            f"{statistics.median(run['seconds'] for run in mine):.2f} s wall, "
            f"CPU build {statistics.median(run['buildCpu'] for run in mine):.2f} s, "
            f"helpers {statistics.median(run['helperCpu'] for run in mine):.2f} s, "
            f"critical path {critical:.2f} s{allowed}, "
            f"peak PSS by tree {statistics.median(run['peakPssMB'] for run in mine):.0f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
