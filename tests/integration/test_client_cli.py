"""The Python client and the ``async-reports`` command, against a live stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from reports_client import JobStatus, ReportsClient

from devstack.stack import free_port
from reports_shared.constants import JobStatus as StoredStatus
from reports_shared.constants import Names
from reports_shared.jobs import JobRecord, utcnow
from reports_shared.jobstore import JobStore
from tests.support.data import INVOICE
from tests.support.infra import Infra
from tests.support.jobs import PLUGIN, submit
from tests.support.stacks import RunningStack, StackFactory, StackPool

#: The console script installed with the client package, beside this interpreter.
COMMAND = Path(sys.executable).with_name("async-reports")


@pytest.fixture(scope="module")
def service(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """The default stack, plus the test-only ``Demora`` type for jobs of a chosen length."""
    pool = StackPool(infra, tmp_path_factory.mktemp("cli"))
    yield pool.start(report_plugins=PLUGIN)
    pool.stop_all()


def invoices(folder: Path, count: int = 2) -> Path:
    """A dataset of ``count`` invoices, unique to this call (never answered from the cache)."""
    run = uuid.uuid4().hex[:8]
    records = [{**INVOICE, "invoiceNumber": f"F{run}-{n:04d}"} for n in range(count)]
    path = folder / "facturas.json"
    path.write_text(json.dumps(records))
    return path


def demora(folder: Path, sleep: Any) -> Path:
    """A Demora dataset of one record sleeping ``sleep`` seconds."""
    path = folder / "demora.json"
    path.write_text(json.dumps([{"sleep": sleep, "run": uuid.uuid4().hex}]))
    return path


def run(
    service: RunningStack,
    *args: str,
    timeout: float = 60,
    key: str | None = None,
    columns: int = 200,
) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with the service's address in ASYNC_REPORTS_URL, in
    a terminal ``columns`` wide (COLUMNS, which the command reads as a terminal's would)."""
    env = {**os.environ, "ASYNC_REPORTS_URL": service.url, "COLUMNS": str(columns)}
    env.pop("ASYNC_REPORTS_API_KEY", None)
    if key:
        env["ASYNC_REPORTS_API_KEY"] = key
    return subprocess.run(
        [str(COMMAND), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


# --- the command --------------------------------------------------------------------------


def test_submit_wait_output_saves_the_report_and_prints_where(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given a file of two invoices
    data = invoices(tmp_path)
    target = tmp_path / "salida" / "reporte.zip"

    # When it is submitted, waited for and downloaded in one command
    done = run(service, "submit", str(data), "--type", "FacturacionMasiva",
               "--user", "ana@empresa.com", "--wait", "--output", str(target))  # fmt: skip

    # Then it exits 0, prints the saved file's path, and the ZIP holds the report
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(target)
    assert "Trabajo en cola" in done.stderr and "Reporte guardado" in done.stderr
    with zipfile.ZipFile(target) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["recordsProcessed"] == 2
    assert not target.with_name("reporte.zip.part").exists()


def test_submit_alone_prints_the_job_id_and_status_json_shows_the_job(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given a job submitted without waiting
    submitted = run(service, "submit", str(invoices(tmp_path)), "-t", "FacturacionMasiva",
                    "-u", "ana@empresa.com", "--quiet")  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    assert submitted.stderr == ""
    final = service.wait_finished(job_id)

    # When its status is asked for as JSON
    shown = run(service, "status", job_id, "--json")

    # Then it is what the api says
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == final


def test_download_saves_a_finished_job_under_the_services_file_name(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given a completed job
    submitted = run(service, "submit", str(invoices(tmp_path)), "-t", "FacturacionMasiva",
                    "-u", "ana@empresa.com", "-q")  # fmt: skip
    final = service.wait_finished(submitted.stdout.strip())

    # When it is downloaded into a folder
    done = run(service, "download", final["jobId"], "-o", f"{tmp_path}/descargas/", "-q")

    # Then the file has the service's name and is the report
    assert done.returncode == 0, done.stderr
    saved = tmp_path / "descargas" / final["fileName"]
    assert done.stdout.strip() == str(saved)
    assert saved.stat().st_size == final["fileSizeBytes"]


def test_an_older_jobs_control_characters_are_shown_escaped_not_run(
    service: RunningStack,
) -> None:
    # Given a job stored before the api refused control characters in userName and message
    forged = "evil\x1b[2J\x1b[31mRED\r\nfake line\x07"
    jobs = JobStore.from_url(service.env["AR_REDIS_URL"], Names(service.namespace))
    job_id = f"viejo-{uuid.uuid4().hex[:8]}"
    jobs.create(JobRecord(job_id=job_id, status=StoredStatus.QUEUED, message=forged,
                          report_type="Demora", user_name=forged, created_at=utcnow(),
                          enqueued_at=utcnow()))  # fmt: skip
    escaped = "evil\\x1b[2J\\x1b[31mRED\\r\\nfake line\\x07"

    # When an operator looks at it, alone and in the history
    status = run(service, "status", job_id)
    listed = run(service, "list", "--all", "-n", "1")

    # Then its text is there, escaped on its own line; nothing reaches the terminal raw
    assert status.returncode == 0, status.stderr
    assert f"Usuario:    {escaped}\n" in status.stdout
    assert f"Mensaje:    {escaped}\n" in status.stdout
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].startswith(job_id), listed.stdout
    assert listed.stdout.splitlines()[1].endswith(escaped)
    assert len(listed.stdout.splitlines()) == 2
    for output in (status.stdout, listed.stdout):
        assert not [c for c in output if ord(c) < 0x20 and c != "\n"], output
    # --json keeps the value as the service has it
    assert json.loads(run(service, "status", job_id, "--json").stdout)["userName"] == forged


def test_types_lists_what_the_workers_build(service: RunningStack) -> None:
    done = run(service, "types")
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert {"FacturacionMasiva", "Tabular", "Demora"} <= set(names)


def test_list_shows_a_running_job(service: RunningStack) -> None:
    # Given a job of three seconds
    job_id = submit(service, [{"sleep": 3, "run": uuid.uuid4().hex}])

    # When the active jobs are listed
    listed = run(service, "list", "--json")

    # Then it is there, queued or processing
    assert listed.returncode == 0, listed.stderr
    jobs = {job["jobId"]: job for job in json.loads(listed.stdout)}
    assert jobs[job_id]["status"] in {"Queued", "Processing"}
    service.wait_finished(job_id)


@dataclass(frozen=True)
class History:
    """Jobs of one user, made for the history tests: one completed, one cancelled."""

    user: str
    completed: str
    cancelled: str


@pytest.fixture(scope="module")
def history(service: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> History:
    folder = tmp_path_factory.mktemp("history")
    user = f"historial-{uuid.uuid4().hex[:8]}@empresa.com"
    done = run(service, "submit", str(demora(folder, 0)), "-t", "Demora", "-u", user, "-q")
    completed = service.wait_finished(done.stdout.strip())["jobId"]
    held = demora(folder, 0).with_name("held.json")
    held.write_text(json.dumps([{"hold": str(folder / "release"), "run": uuid.uuid4().hex}]))
    submitted = run(service, "submit", str(held), "-t", "Demora", "-u", user, "-q")
    cancelled = submitted.stdout.strip()
    assert run(service, "cancel", cancelled).returncode == 0
    (folder / "release").touch()  # the cancelled job's worker leaves the held record
    return History(user, completed, cancelled)


def rows(listing: str) -> dict[str, str]:
    """The lines of a list, by the job id that starts them."""
    return {line.split()[0]: line for line in listing.splitlines()[1:]}


def test_list_all_shows_finished_jobs_how_they_ended_and_their_records(
    service: RunningStack, history: History
) -> None:
    listed = run(service, "list", "--all", "--user", history.user)
    assert listed.returncode == 0, listed.stderr
    lines = rows(listed.stdout)
    assert list(lines) == [history.cancelled, history.completed]  # newest first
    assert "Cancelado" in lines[history.cancelled]
    assert lines[history.completed].split()[3:5] == ["Completado", "1"]


def test_list_all_fits_a_narrow_terminal_and_keeps_job_ids_whole(
    service: RunningStack, history: History
) -> None:
    listed = run(service, "list", "--all", "--user", history.user, columns=64)
    assert listed.returncode == 0, listed.stderr
    assert all(len(line) <= 64 for line in listed.stdout.splitlines()), listed.stdout
    assert set(rows(listed.stdout)) == {history.cancelled, history.completed}
    for line in listed.stdout.splitlines():
        assert line[36:38] == "  ", line  # the id's column ends before the next begins


def test_list_all_filters_by_status(service: RunningStack, history: History) -> None:
    # Failed, as the status shows it, takes in the cancelled job
    listed = run(service, "list", "--all", "-u", history.user, "--status", "Failed", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [job["jobId"] for job in json.loads(listed.stdout)] == [history.cancelled]


def test_list_all_says_when_nothing_matches(service: RunningStack, history: History) -> None:
    listed = run(service, "list", "--all", "-u", history.user, "--type", "Tabular")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "Ningún trabajo coincide."


def test_list_all_shows_the_newest_up_to_limit_and_says_there_are_more(
    service: RunningStack, history: History
) -> None:
    listed = run(service, "list", "--all", "-u", history.user, "--limit", "1")
    assert listed.returncode == 0, listed.stderr
    assert list(rows(listed.stdout)) == [history.cancelled]
    assert "Hay más trabajos" in listed.stderr


# --- exit codes ---------------------------------------------------------------------------


def test_a_job_that_fails_exits_1_with_its_reason(service: RunningStack, tmp_path: Path) -> None:
    done = run(service, "submit", str(demora(tmp_path, "no es un número")), "-t", "Demora",
               "-u", "qa@empresa.com", "--wait")  # fmt: skip
    assert done.returncode == 1
    assert "error:" in done.stderr and "Con error" in done.stderr


def test_an_unknown_report_type_exits_3_saying_which_exist(
    service: RunningStack, tmp_path: Path
) -> None:
    done = run(service, "submit", str(invoices(tmp_path)), "-t", "Inexistente", "-u", "ana")
    assert done.returncode == 3
    assert "FacturacionMasiva" in done.stderr
    assert done.stdout == ""


def test_an_unknown_job_exits_4(service: RunningStack) -> None:
    done = run(service, "status", str(uuid.uuid4()))
    assert done.returncode == 4
    assert "No existe un trabajo" in done.stderr


def test_an_unreachable_service_exits_5(service: RunningStack) -> None:
    done = run(service, "types", "--url", f"http://127.0.0.1:{free_port()}")
    assert done.returncode == 5
    assert "No se pudo conectar" in done.stderr


def test_waiting_longer_than_timeout_exits_6(service: RunningStack, tmp_path: Path) -> None:
    # Given a job that runs until the test releases it
    release = tmp_path / "release"
    job_id = submit(service, [{"hold": str(release), "run": uuid.uuid4().hex}])
    # When the CLI waits for it for one second
    done = run(service, "wait", job_id, "--timeout", "1")
    # Then it gives up with exit 6, naming the job
    assert done.returncode == 6
    assert job_id in done.stderr
    release.touch()
    service.wait_finished(job_id)


def test_a_missing_file_exits_2(service: RunningStack, tmp_path: Path) -> None:
    done = run(service, "submit", str(tmp_path / "no-existe.json"), "-t", "Tabular", "-u", "ana")
    assert done.returncode == 2
    assert "no existe el archivo" in done.stderr


def test_a_url_whose_path_is_not_the_services_exits_5_saying_so(service: RunningStack) -> None:
    done = run(service, "status", str(uuid.uuid4()), "--url", f"{service.url}/otra-cosa")
    assert done.returncode == 5
    assert f"La dirección {service.url}/otra-cosa no apunta a un servicio Async Reports" in (
        done.stderr
    )
    assert "No existe un trabajo" not in done.stderr


def test_the_apis_own_address_is_taken_as_the_services(service: RunningStack) -> None:
    done = run(service, "types", "--url", f"{service.url}/api/AsyncReports/")
    assert done.returncode == 0, done.stderr
    assert "FacturacionMasiva" in done.stdout


def test_a_url_without_scheme_exits_2_saying_so_in_spanish(service: RunningStack) -> None:
    bare = service.url.removeprefix("http://")
    done = run(service, "types", "--url", bare)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: La dirección del servicio '{bare}' no dice el protocolo: escriba http:// o "
        "https:// delante (por ejemplo http://127.0.0.1:8000). La dirección viene de --url "
        "o de la variable ASYNC_REPORTS_URL.\n"
    )


@pytest.mark.parametrize("reader", ["head -1", "true"])
@pytest.mark.parametrize("unbuffered", [True, False])
def test_a_closed_pipe_is_quiet_and_keeps_the_exit_code(
    service: RunningStack, history: History, reader: str, unbuffered: bool
) -> None:
    # Given a reader that stops after one line (head -1) or before any (true)
    env = {**os.environ, "ASYNC_REPORTS_URL": service.url}
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"  # each write reaches the pipe, as the issue saw it
    # When a status is piped into it, in a real shell
    script = f'set -o pipefail; "{COMMAND}" status {history.completed} | {reader}'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          timeout=60, check=False)  # fmt: skip
    # Then nothing is said on stderr and the command's own exit code (0) stands
    assert done.stderr == ""
    assert done.returncode == 0
    if reader == "head -1":
        assert done.stdout == f"Trabajo:    {history.completed}\n"


def test_help_speaks_spanish_and_shows_examples(service: RunningStack) -> None:
    for argv in (["--help"], ["submit", "--help"], ["list", "-h"]):
        done = run(service, *argv)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("uso: async-reports")
        assert "\nejemplos:\n  async-reports " in done.stdout
        english = ["usage:", "positional arguments", "options:", "show this help message"]
        assert [phrase for phrase in english if phrase in done.stdout] == []
    wrong = run(service, "lisst")
    assert wrong.returncode == 2
    assert "valor no válido: 'lisst'" in wrong.stderr and "invalid choice" not in wrong.stderr


def test_the_api_key_comes_from_the_environment(make_stack: StackFactory) -> None:
    # Given a service that requires API keys
    key = "erp-key-0123456789abcdef"
    ops = "operator:ops:ops-key-0123456789abcdef"  # the fixture checks readiness with it
    keyed = make_stack(workers=1, api_keys=f"client:erp:{key},{ops}")

    # When the command runs without a key, then with it in ASYNC_REPORTS_API_KEY
    refused, accepted = run(keyed, "types"), run(keyed, "types", key=key)

    # Then the first is refused saying why (exit 3), the second works
    assert refused.returncode == 3 and "clave de API" in refused.stderr
    assert accepted.returncode == 0 and "FacturacionMasiva" in accepted.stdout


# --- the library --------------------------------------------------------------------------


def test_records_are_submitted_followed_live_and_downloaded(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given records in memory and a client of the service
    run_id = uuid.uuid4().hex[:8]
    records = ({**INVOICE, "invoiceNumber": f"G{run_id}-{n}"} for n in range(3))
    sent: list[tuple[int, int | None]] = []
    seen: list[str] = []
    with ReportsClient(service.url) as client:
        # When they are submitted, waited for and downloaded
        submission = client.submit_records(
            records, "FacturacionMasiva", "ana@empresa.com", on_progress=lambda *p: sent.append(p)
        )
        job = client.wait(submission.job_id, timeout=30, on_update=lambda j: seen.append(j.status))
        saved = client.download(job, tmp_path)

    # Then the upload was reported to its end, the job completed, and the ZIP is the report
    assert sent[-1][0] == sent[-1][1]
    assert job.status == JobStatus.COMPLETED and seen[-1] == "Completed"
    with zipfile.ZipFile(saved) as archive:
        assert json.loads(archive.read("manifest.json"))["recordsProcessed"] == 3


class CutOnce(httpx.BaseTransport):
    """The real network, except that the first download's connection drops after ``cut``
    bytes; every request is noted as (Range header, status)."""

    def __init__(self, cut: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.cut = cut
        self.downloads: list[tuple[str | None, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if "/download/" not in request.url.path:
            return response
        self.downloads.append((request.headers.get("range"), response.status_code))
        if len(self.downloads) > 1:
            return response
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=Dropped(response.stream, self.cut),
                              extensions=response.extensions)  # fmt: skip

    def close(self) -> None:
        self.inner.close()


class Dropped(httpx.SyncByteStream):
    """A body that stops with a connection error after ``cut`` bytes."""

    def __init__(self, inner: Any, cut: int) -> None:
        self.inner = inner
        self.cut = cut

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.inner:
            if sent + len(chunk) >= self.cut:
                yield chunk[: self.cut - sent]
                raise httpx.ReadError("conexión reiniciada por la red")
            sent += len(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


def test_a_download_cut_halfway_resumes_where_it_stopped(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given a completed report and a network that drops the first download after 1,000 bytes
    with ReportsClient(service.url) as plain:
        job = plain.wait(plain.submit_file(invoices(tmp_path), "FacturacionMasiva", "ana").job_id)
    whole = service.client.get(job.download_url or "").content
    assert len(whole) > 1000
    network = CutOnce(cut=1000)

    # When the client downloads it over that network
    with httpx.Client(base_url=service.url, transport=network) as http:
        saved = ReportsClient(http=http).download(job, tmp_path / "reporte.zip")

    # Then the file is whole, and the second request asked only for the rest
    assert saved.read_bytes() == whole
    assert network.downloads == [(None, 200), ("bytes=1000-", 206)]
