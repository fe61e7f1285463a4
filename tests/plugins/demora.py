"""``Demora``: a report type whose records say how long to take, or to crash the worker.

It goes through the same plug-in interface as the real report types (loaded with
``AR_REPORT_PLUGINS=tests.plugins.demora:Demora``), so tests can hold a job in flight for a
known time, or make one that kills its worker every time (a poison job), without depending
on how fast the real builders are on a given machine.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any, ClassVar

from reports_worker.reporttypes import (
    BatchedReport,
    BuildContext,
    BuildResult,
    Record,
    Rejector,
    ReportType,
)

#: Where a running job writes its id, so a test can see which jobs run at once.
RUNNING_DIR_ENV = "DEMORA_RUNNING_DIR"


#: Longest a ``hold`` record waits for its file (a test that forgets to release it fails).
HOLD_LIMIT_SECONDS = 120


class Demora(ReportType):
    """Records ``{"sleep": seconds}`` wait; ``{"hold": path}`` waits until the test creates
    that file (so a test, not the machine's speed, decides when the job ends);
    ``{"crash": true}`` kills the worker process."""

    name: ClassVar[str] = "Demora"
    description: ClassVar[str] = "Prueba: espera lo que dice cada registro."
    record_schema: ClassVar[Any] = dict
    file_stem: ClassVar[str] = "demora"

    def build(self, records: Iterator[Record], context: BuildContext) -> BuildResult:
        """Sleep per record; write the count to ``demora.json``."""
        marker = _mark_running(context.job_id)
        started = time.monotonic()
        count = 0
        try:
            for _, record in records:
                if record.get("crash"):
                    os.kill(os.getpid(), signal.SIGKILL)
                time.sleep(float(record.get("sleep", 0)))
                if record.get("hold"):
                    _hold(str(record["hold"]))
                count += 1
        finally:
            if marker is not None:
                marker.unlink(missing_ok=True)
                _journal(marker, started)
        context.files.path("demora.json").write_text(json.dumps({"records": count}))
        return BuildResult(records_processed=count)


def _hold(path: str) -> None:
    deadline = time.monotonic() + HOLD_LIMIT_SECONDS
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


def _mark_running(job_id: str) -> Any:
    folder = os.environ.get(RUNNING_DIR_ENV)
    if not folder:
        return None
    from pathlib import Path

    marker = Path(folder) / job_id
    marker.write_text(str(os.getpid()))  # a killed worker leaves it: tests check the pid
    return marker


def _journal(marker: Any, started: float) -> None:
    """Add the build's span to the running folder's journal (``<folder>.log``, beside it):
    ``job pid start end``, on the host's CLOCK_MONOTONIC, which every process shares. One
    short appended write: lines of processes ending at once never mix."""
    line = f"{marker.name} {os.getpid()} {started:.6f} {time.monotonic():.6f}\n"
    with open(f"{marker.parent}.log", "a", encoding="utf-8") as journal:
        journal.write(line)


class DemoraLotes(BatchedReport):
    """Like Demora's ``sleep`` records, rendered batch by batch (about 1 MB of payload
    each), so a build uses helper processes: each batch sleeps in whichever process
    renders it, and writes the pid of that process to the running folder."""

    name: ClassVar[str] = "DemoraLotes"
    description: ClassVar[str] = "Prueba: espera por lotes, en procesos auxiliares."
    record_schema: ClassVar[Any] = dict
    file_stem: ClassVar[str] = "demora-lotes"

    def render(self, records: Iterator[Record], rejected: Rejector) -> int:
        """Sleep per record; the batch's count."""
        _mark_helper()
        count = 0
        for _, record in records:
            time.sleep(float(record.get("sleep", 0)))
            count += 1
        return count

    def assemble(self, parts: Iterator[Any], context: BuildContext) -> BuildResult:
        """The total count, in ``demora.json``."""
        count = sum(parts)
        context.files.path("demora.json").write_text(json.dumps({"records": count}))
        return BuildResult(records_processed=count)


def _mark_helper() -> None:
    folder = os.environ.get(RUNNING_DIR_ENV)
    if folder:
        from pathlib import Path

        (Path(folder) / f"render-{os.getpid()}").touch()
