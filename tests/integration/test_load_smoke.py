"""The load test, shortened: a few seconds of submissions and polling, every job checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.stacks import StackFactory

LOAD = Path(__file__).parents[2] / "bench" / "load.py"


def test_sustained_load_gives_no_5xx_and_loses_no_job(
    make_stack: StackFactory, tmp_path: Path
) -> None:
    stack = make_stack(workers=2, cache_enabled="false")
    output = tmp_path / "load.json"
    command = [sys.executable, str(LOAD), "--url", stack.url, "--seconds", "8",
               "--submitters", "2", "--pollers", "8", "--large-every", "6",
               "--drain-seconds", "120", "--output", str(output)]  # fmt: skip
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    figures = json.loads(output.read_text())
    assert result.returncode == 0, result.stdout + result.stderr
    assert figures["server_errors"] == 0 and figures["jobs_wrong_or_stuck"] == 0
    assert figures["jobs_submitted"] > 0
