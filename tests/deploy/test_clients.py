"""Through the api container: the seed's clients and the CLI get a report; the containers
are healthy, hardened and limited as compose.yaml says."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.deploy.stack import ROOT, Stack, run

INVOICES = 300


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "facturas.json"
    run("uv", "run", "--quiet", "python", "-m", "devstack.datasets", str(INVOICES), str(path))
    return path


def _assert_report(zip_path: Path) -> None:
    with zipfile.ZipFile(zip_path) as archive:
        rows = archive.read("facturas.csv").decode("utf-8-sig").strip().splitlines()
        assert "manifest.json" in archive.namelist()
    assert len(rows) == INVOICES + 1  # a header and one row per invoice


def test_the_python_seed_client_downloads_a_report(
    stack: Stack, dataset: Path, tmp_path: Path
) -> None:
    subprocess.run(
        ["uv", "run", "--quiet", "python", str(ROOT / "examples" / "cliente.py"), str(dataset),
         "FacturacionMasiva", "ana@x.com", stack.url, "0.5"],
        cwd=tmp_path, check=True, timeout=120,
    )  # fmt: skip
    _assert_report(tmp_path / "reporte.zip")


def test_the_node_seed_client_downloads_a_report(
    stack: Stack, dataset: Path, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    subprocess.run(
        [node, str(ROOT / "examples" / "cliente.mjs"), str(dataset), "FacturacionMasiva",
         "ana@x.com", stack.url, "500"],
        cwd=tmp_path, check=True, timeout=120,
    )  # fmt: skip
    _assert_report(next(tmp_path.glob("*.zip")))


def test_the_cli_downloads_a_report(stack: Stack, dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.zip"
    run("uv", "run", "--quiet", "async-reports", "submit", str(dataset), "-t", "FacturacionMasiva",
        "-u", "ana@x.com", "--wait", "-o", str(out), "--url", stack.url, timeout=120)  # fmt: skip
    _assert_report(out)


def test_every_container_passes_its_compose_healthcheck(stack: Stack) -> None:
    # podman runs healthchecks from systemd timers; there is none here, so run each once
    for service in ("rabbitmq", "redis", "minio", "api", "worker", "janitor"):
        for name in stack.containers(service):
            done = subprocess.run(
                ["podman", "healthcheck", "run", name], check=False, capture_output=True
            )
            assert done.returncode == 0, (name, done.stdout, done.stderr)


def test_the_worker_sees_its_cpu_and_memory_limit(stack: Stack) -> None:
    worker = stack.containers("worker")[0]
    probe = "from reports_worker.runner import usable_cores; print(usable_cores())"
    cores = run("podman", "exec", worker, "python", "-c", probe)
    memory = run("podman", "exec", worker, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert int(cores) == int(stack.settings["WORKER_CPUS"])
    assert int(memory) == 1024**3


@pytest.mark.parametrize("service", ["api", "worker", "janitor"])
def test_app_containers_cannot_write_their_image_nor_hold_capabilities(
    stack: Stack, service: str
) -> None:
    name = stack.containers(service)[0]
    denied = subprocess.run(
        ["podman", "exec", name, "touch", "/opt/venv/x"], check=False, capture_output=True
    )
    assert denied.returncode != 0
    assert b"Read-only file system" in denied.stderr
    status = run("podman", "exec", name, "cat", "/proc/1/status")
    caps = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if "Cap" in line}
    assert int(caps["CapEff"], 16) == 0
    assert "NoNewPrivs:\t1" in status


def test_the_services_use_their_own_s3_user_not_the_root_user(stack: Stack) -> None:
    env = run("podman", "exec", stack.container("api"), "env")
    assert f"AR_S3_ACCESS_KEY={stack.settings['AR_S3_ACCESS_KEY']}" in env
    assert stack.settings["MINIO_ROOT_PASSWORD"] not in env
