"""The seed's own client code (Python requests, JavaScript fetch) against a live stack."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.data import INVOICE
from tests.support.stacks import RunningStack

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "datos.json"
    path.write_text(json.dumps([{**INVOICE, "invoiceNumber": f"F001-{n:08d}"} for n in range(3)]))
    return path


def check_report(folder: Path) -> None:
    with zipfile.ZipFile(folder / "reporte.zip") as archive:
        assert json.loads(archive.read("manifest.json"))["recordsProcessed"] == 3


def test_the_seed_python_client_reaches_completed_and_downloads(
    stack: RunningStack, dataset: Path, tmp_path: Path
) -> None:
    command = [sys.executable, str(EXAMPLES / "cliente.py"), str(dataset), "FacturacionMasiva",
               "ana@empresa.com", stack.url, "0.5"]  # fmt: skip
    result = subprocess.run(
        command, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Estado: Completed" in result.stdout
    check_report(tmp_path)


def test_the_seed_javascript_client_reaches_completed_and_downloads(
    stack: RunningStack, dataset: Path, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    command = [node, str(EXAMPLES / "cliente.mjs"), str(dataset), "FacturacionMasiva",
               "ana@empresa.com", stack.url, "500"]  # fmt: skip
    result = subprocess.run(
        command, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Estado: Completed" in result.stdout
    check_report(tmp_path)
