"""Jobs of the test-only Demora report type (``tests/plugins/demora.py``) on a test stack."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import psutil

from tests.plugins.demora import RUNNING_DIR_ENV
from tests.support.stacks import RunningStack, StackFactory

PLUGIN = "tests.plugins.demora:Demora"


def submit(stack: RunningStack, records: list[dict[str, Any]], large: bool = False) -> str:
    """Queue a Demora job; its id."""
    response = stack.client.post(
        "/api/AsyncReports/queue-multipart",
        data={"reportType": "Demora", "userName": "qa@empresa.com",
              "isLargeDataset": "true" if large else "false"},
        files={"dataFile": ("d.json", json.dumps(records).encode(), "application/json")},
    )  # fmt: skip
    assert response.status_code == 202, response.text
    job_id: str = response.json()["jobId"]
    return job_id


class RunningJobs:
    """Samples, from the outside, which Demora jobs run at once (markers of live pids), and
    reads the exact spans of the builds that ended (the plugin's journal)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> set[str]:
        running = set()
        for marker in self.folder.iterdir():
            try:
                if psutil.pid_exists(int(marker.read_text() or 0)):
                    running.add(marker.name)
            except (OSError, ValueError):
                continue
        return running

    def spans(self) -> list[tuple[str, float, float]]:
        """Each ended build as (job id, start, end), in the order they ended; a build whose
        worker was killed has none."""
        journal = self.folder.with_name(f"{self.folder.name}.log")
        if not journal.exists():
            return []
        lines = [line.split() for line in journal.read_text().splitlines()]
        return [(job, float(start), float(end)) for job, _pid, start, end in lines]

    def most_at_once(self) -> int:
        """The most builds that ran at one instant, from their spans: exact, where the
        sampler can miss a short overlap."""
        spans = [(start, end) for _, start, end in self.spans()]
        return max((sum(s <= at < e for s, e in spans) for at, _ in spans), default=0)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            running = self.now()
            self.peak = max(self.peak, len(running))

    def __enter__(self) -> RunningJobs:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def demora_stack(
    make_stack: StackFactory,
    running_dir: Path,
    extra_env: dict[str, str] | None = None,
    **settings: Any,
) -> RunningStack:
    """A stack that builds Demora jobs, each marking ``running_dir`` while it runs."""
    # The jobs here share their (tiny) datasets: without the cache every one of them runs.
    settings.setdefault("cache_enabled", "false")
    env = {RUNNING_DIR_ENV: str(running_dir), **(extra_env or {})}
    return make_stack(report_plugins=PLUGIN, extra_env=env, **settings)
