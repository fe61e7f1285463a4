"""The seed's own client code (Python requests, JavaScript fetch) against a live stack."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.support.data import INVOICE
from tests.support.jobs import demora_stack, submit
from tests.support.stacks import RunningStack, StackFactory, wait_until

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Three invoices unique to the test (the stack it shares never serves them from cache)."""
    run = uuid.uuid4().hex[:8]
    path = tmp_path / "datos.json"
    path.write_text(json.dumps([{**INVOICE, "invoiceNumber": f"F{run}-{n:08d}"} for n in range(3)]))
    return path


def check_report(folder: Path) -> None:
    with zipfile.ZipFile(folder / "reporte.zip") as archive:
        assert json.loads(archive.read("manifest.json"))["recordsProcessed"] == 3


def test_the_seed_python_client_reaches_completed_and_downloads(
    module_stack: RunningStack, dataset: Path, tmp_path: Path
) -> None:
    stack = module_stack
    command = [sys.executable, str(EXAMPLES / "cliente.py"), str(dataset), "FacturacionMasiva",
               "ana@empresa.com", stack.url, "0.5"]  # fmt: skip
    result = subprocess.run(
        command, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Estado: Completed" in result.stdout
    check_report(tmp_path)


def test_the_seed_javascript_client_reaches_completed_and_downloads(
    module_stack: RunningStack, dataset: Path, tmp_path: Path
) -> None:
    stack = module_stack
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


def _cancel_when_running(stack: RunningStack, running_dir: Path) -> str:
    """Cancel the Demora job the client sent, once it runs; its id."""
    wait_until(lambda: any(running_dir.iterdir()), 60, what="the client's job to start")
    job = next(p.name for p in running_dir.iterdir() if p.name != "release")
    assert stack.client.delete(f"/api/AsyncReports/jobs/{job}").status_code == 200
    (running_dir / "release").touch()
    return job


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_the_seed_clients_stop_on_a_cancelled_job_with_its_message(
    make_stack: StackFactory, running_dir: Path, tmp_path: Path, language: str
) -> None:
    stack = demora_stack(make_stack, running_dir)
    data = tmp_path / "datos.json"
    data.write_text(json.dumps([{"hold": str(running_dir / "release")}]))
    if language == "python":
        command = [sys.executable, str(EXAMPLES / "cliente.py"), str(data), "Demora", "ana",
                   stack.url, "0.3"]  # fmt: skip
    else:
        node = shutil.which("node")
        if node is None:
            pytest.skip("node is not installed")
        command = [node, str(EXAMPLES / "cliente.mjs"), str(data), "Demora", "ana",
                   stack.url, "300"]  # fmt: skip
    client = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        _cancel_when_running(stack, running_dir)
        out, _ = client.communicate(timeout=60)
    finally:
        client.kill()
    assert client.returncode != 0, out
    assert "Estado: Failed - Cancelado a pedido del usuario." in out, out


def test_the_seed_python_client_stops_on_an_expired_job(
    make_stack: StackFactory, running_dir: Path
) -> None:
    stack = demora_stack(make_stack, running_dir, job_ttl_seconds=1)
    job = submit(stack, [{"sleep": 0}])
    wait_until(
        lambda: stack.client.get(f"/api/AsyncReports/status/{job}").status_code == 410,
        30,
        what="the job to expire",
    )
    code = (
        f"import sys; sys.path.insert(0, {str(EXAMPLES)!r}); import cliente; "
        f"cliente.BASE_URL = {stack.url!r}; cliente.monitorear_trabajo({job!r}, 0.2)"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode != 0
    assert "Estado: Failed - El reporte expiró y fue eliminado." in result.stdout, result.stdout
    assert "Exception: Error: El reporte expiró" in result.stderr, result.stderr


def test_the_seed_javascript_client_stops_on_an_expired_job(
    make_stack: StackFactory, running_dir: Path, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    stack = demora_stack(make_stack, running_dir, job_ttl_seconds=1)
    data = tmp_path / "datos.json"
    release = running_dir / "release"
    data.write_text(json.dumps([{"hold": str(release)}]))
    command = [node, str(EXAMPLES / "cliente.mjs"), str(data), "Demora", "ana", stack.url,
               "300"]  # fmt: skip
    client = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        # Given the client polling a running job
        wait_until(lambda: any(p.name != "release" for p in running_dir.iterdir()), 60,
                   what="the client's job to start")  # fmt: skip
        job = next(p.name for p in running_dir.iterdir() if p.name != "release")
        # When the client is frozen while its job completes and expires (a poll interval
        # longer than the job's life, without racing a sleep)
        client.send_signal(signal.SIGSTOP)
        release.touch()
        wait_until(
            lambda: stack.client.get(f"/api/AsyncReports/status/{job}").status_code == 410,
            30,
            what="the job to expire",
        )
        client.send_signal(signal.SIGCONT)
        out, _ = client.communicate(timeout=60)
    finally:
        client.kill()
    # Then its next poll ends it, with the service's message
    assert client.returncode != 0, out
    assert "Estado: Failed - El reporte expiró y fue eliminado." in out, out
