"""Schemathesis against the api's own OpenAPI document: every check, zero failures."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.stacks import StackFactory

CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_the_api_passes_every_schemathesis_check(make_stack: StackFactory) -> None:
    stack = make_stack(workers=1, submissions_per_minute=0)  # no 429s hiding the api
    binary = shutil.which("schemathesis")
    if binary is None:
        pytest.skip("schemathesis is not installed")
    command = [
        binary, "--config-file", str(CONFIG), "run", f"{stack.url}/schema/openapi.json",
        "--checks", "all", "--max-examples", "25", "--generation-deterministic",
        "--request-timeout", "30",
    ]  # fmt: skip
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
