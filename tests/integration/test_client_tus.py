"""The Python client and the ``async-reports`` command uploading over tus, against a live
stack: above the size threshold, through connections cut mid-PATCH, across a killed command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from reports_client import ReportsClient, Submission, UploadNotice

from tests.support.data import INVOICE
from tests.support.infra import Infra
from tests.support.proxy import CuttingProxy
from tests.support.stacks import RunningStack, StackPool, wait_until, zip_bytes

Q = "/api/AsyncReports"
MIB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
#: INVOICE is 3 x 12.50 plus 18 % tax: 44.25 PEN.
INVOICE_TOTAL_CENTS = 4425


@pytest.fixture(scope="module")
def service(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack shared by this module's tests. A PATCH holds its upload for 10 s past its
    last renewal (60 s by default): the upload of an api killed mid-PATCH waits that long,
    and so does its test. Payloads stay: a test reads one after its upload, when the job
    may already be built."""
    pool = StackPool(infra, tmp_path_factory.mktemp("client-tus"))
    yield pool.start(workers=1, tus_lock_seconds=10, delete_payloads="false")
    pool.stop_all()


def invoices(folder: Path, count: int) -> Path:
    """``count`` invoices of 44.25 PEN each, unique to this call (never a cache hit)."""
    run = uuid.uuid4().hex[:8]
    records = [{**INVOICE, "invoiceNumber": f"F{run}-{n:08d}"} for n in range(count)]
    path = folder / "facturas.json"
    path.write_text(json.dumps(records))
    return path


def assert_totals(service: RunningStack, job_id: str, count: int) -> None:
    """The job completed with ``count`` invoices and their exact total."""
    status = service.wait_finished(job_id, timeout=120)
    assert status["status"] == "Completed", status
    with zipfile.ZipFile(zip_bytes(service.client.get(status["downloadUrl"]))) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["recordsProcessed"] == count
    cents = count * INVOICE_TOTAL_CENTS
    assert manifest["totals"]["PEN"]["total"] == f"{cents // 100}.{cents % 100:02d}"


def became_a_tus_upload(service: RunningStack, job_id: str) -> bool:
    """Whether the job came from a tus upload: HEAD on the upload names it."""
    head = service.client.head(f"{Q}/uploads/{job_id}", headers=TUS)
    return head.status_code == 200 and head.headers.get("upload-job-url", "").endswith(job_id)


def held_past_a_part(service: RunningStack, url: str) -> int:
    """The offset of an upload once the service kept bytes past its first 5 MiB part (the
    tail of a PATCH cut short), else 0."""
    head = service.client.head(url, headers=TUS)
    offset = int(head.headers.get("upload-offset", "0"))
    return offset if offset > 5 * MIB else 0


def submit_through(proxy: CuttingProxy, path: Path, notices: list[UploadNotice]) -> Submission:
    """Submit ``path`` with the client over tus through ``proxy`` (closed after), its
    notices kept in ``notices``; the state file beside ``path``."""
    try:
        with ReportsClient(
            proxy.url, tus_threshold=4 * MIB, state_file=path.parent / "s.json"
        ) as client:
            return client.submit_file(
                path, "FacturacionMasiva", "ana@empresa.com", on_notice=notices.append
            )
    finally:
        proxy.close()


# --- the client ---------------------------------------------------------------------------


def test_a_file_above_the_threshold_goes_over_tus_and_the_totals_are_exact(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given ~11 MB of invoices, above a client's threshold of 4 MiB
    count = 40_000
    path = invoices(tmp_path, count)
    size = path.stat().st_size
    progress: list[tuple[int, int | None]] = []
    # When the client submits it, in PATCHes of 5 MiB
    with ReportsClient(
        service.url, tus_threshold=4 * MIB, tus_chunk_size=5 * MIB, state_file=tmp_path / "s.json"
    ) as client:
        job = client.submit_file(
            path, "FacturacionMasiva", "ana@empresa.com",
            on_progress=lambda done, total: progress.append((done, total)),
        )  # fmt: skip
    # Then it was a tus upload, progress reached the whole file, and the totals are exact
    assert job.status_url == f"{Q}/status/{job.job_id}"
    assert job.raw["jobId"] == job.job_id and job.status in {"Queued", "Processing", "Completed"}
    assert became_a_tus_upload(service, job.job_id)
    assert progress[-1] == (size, size)
    assert service.objects().stat(f"payloads/{job.job_id}").size == size
    assert_totals(service, job.job_id, count)


def test_a_file_under_the_threshold_goes_multipart(service: RunningStack, tmp_path: Path) -> None:
    path = invoices(tmp_path, 10)
    with ReportsClient(
        service.url, tus_threshold=4 * MIB, state_file=tmp_path / "s.json"
    ) as client:
        job = client.submit_file(path, "FacturacionMasiva", "ana@empresa.com")
    assert not became_a_tus_upload(service, job.job_id)
    assert_totals(service, job.job_id, 10)


def test_the_same_idempotency_key_over_tus_gives_the_job_already_made(
    service: RunningStack, tmp_path: Path
) -> None:
    path = invoices(tmp_path, 100)
    with ReportsClient(service.url, tus_threshold=1, state_file=tmp_path / "s") as client:
        jobs = [
            client.submit_file(path, "FacturacionMasiva", "ana", idempotency_key="tus-cli-1")
            for _ in range(2)
        ]
    assert jobs[0].job_id == jobs[1].job_id
    assert became_a_tus_upload(service, jobs[0].job_id)


def test_connections_cut_mid_patch_are_resumed_by_the_client_from_the_servers_offset(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given a proxy that cuts the first three connections 4 MB into what the client sends
    proxy = CuttingProxy(int(service.env["AR_API_PORT"]), after=4_000_000, cuts=3)
    count = 45_000
    path = invoices(tmp_path, count)
    size = path.stat().st_size
    notices: list[UploadNotice] = []
    # When the client uploads through it over tus
    job = submit_through(proxy, path, notices)
    # Then it resumed by itself after each cut from what the server had kept (not from 0,
    # and further each time), and the report's totals are exact
    assert proxy.cuts_left == 0
    offsets = [notice.offset for notice in notices]
    assert [notice.kind for notice in notices] == ["resumed"] * 3, notices
    assert 0 < offsets[0] < offsets[1] < offsets[2] < size, offsets
    assert notices[0].message.startswith(f"Reanudando desde {offsets[0] * 100 // size} %")
    assert_totals(service, job.job_id, count)


def test_an_api_killed_mid_patch_is_waited_for_and_the_upload_resumes(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given a PATCH stalled 8 MB in (one 5 MiB part stored, the rest in the api's memory)
    proxy = CuttingProxy(int(service.env["AR_API_PORT"]), after=8_000_000, stall=True)
    count = 45_000
    path = invoices(tmp_path, count)
    notices: list[UploadNotice] = []
    api = service.supervisor.services["api"]
    assert api.process is not None

    def kill_the_api() -> None:
        proxy.broke.wait(60)
        time.sleep(0.5)
        assert api.process is not None
        api.process.kill()  # the supervisor starts it again

    killer = threading.Thread(target=kill_the_api, daemon=True)
    killer.start()
    # When the client uploads through it and the api is killed meanwhile
    try:
        job = submit_through(proxy, path, notices)
    finally:
        killer.join()
    # Then it waited for the api to come back and went on from the part the api had stored
    # (what it held in memory died with it), and the totals are exact
    assert api.restarts >= 1
    assert notices and notices[-1].kind == "resumed", notices
    assert notices[-1].offset == 5 * MIB, notices
    assert_totals(service, job.job_id, count)


def test_an_upload_interrupted_in_one_process_is_resumed_by_the_next_from_the_state_file(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given an upload interrupted (Ctrl-C) once 7 MB of the file had gone out
    count = 40_000
    path = invoices(tmp_path, count)
    size = path.stat().st_size
    state = tmp_path / "estado" / "uploads.json"

    def interrupt(done: int, total: int | None) -> None:
        if done > 7_000_000:
            raise KeyboardInterrupt

    with (
        pytest.raises(KeyboardInterrupt),
        ReportsClient(service.url, tus_threshold=4 * MIB, state_file=state) as first,
    ):
        first.submit_file(path, "FacturacionMasiva", "ana@empresa.com", on_progress=interrupt)
    (entry,) = json.loads(state.read_text()).values()
    assert entry["file"] == str(path.resolve())
    held = wait_until(lambda: held_past_a_part(service, entry["url"]), 30, what="the tail")
    # When another client (another process) submits the same file with resume
    notices: list[UploadNotice] = []
    sent: list[int] = []
    with ReportsClient(service.url, tus_threshold=4 * MIB, state_file=state) as second:
        job = second.submit_file(
            path, "FacturacionMasiva", "ana@empresa.com", resume=True,
            on_notice=notices.append, on_progress=lambda done, total: sent.append(done),
        )  # fmt: skip
    # Then it went on from what the service held (not from 0), the upload's state is
    # forgotten, and the job is the upload's with exact totals
    assert notices[0].kind == "resumed", notices
    assert notices[0].offset == held
    assert notices[0].message.startswith(f"Reanudando desde {held * 100 // size} %")
    assert min(sent) == held
    assert job.job_id == entry["url"].rsplit("/", 1)[1]
    assert json.loads(state.read_text()) == {}
    assert_totals(service, job.job_id, count)


# --- the command --------------------------------------------------------------------------

#: The console script installed with the client package, beside this interpreter.
COMMAND = Path(sys.executable).with_name("async-reports")
TYPE_AND_USER = ("-t", "FacturacionMasiva", "-u", "ana@empresa.com")


def command_env(url: str, state: Path) -> dict[str, str]:
    """The command's environment: the service's address and a state folder of the test's."""
    env = {**os.environ, "ASYNC_REPORTS_URL": url, "XDG_STATE_HOME": str(state)}
    env.pop("ASYNC_REPORTS_API_KEY", None)
    return env


def run(url: str, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it."""
    return subprocess.run(
        [str(COMMAND), *args], capture_output=True, text=True,
        env=command_env(url, state), timeout=240, check=False,
    )  # fmt: skip


@dataclass
class Interrupted:
    """An upload left unfinished by a command killed mid-PATCH."""

    path: Path
    state: Path
    url: str
    held: int
    #: The proxy the command went through, passing everything now: the address the state
    #: file remembers the upload under.
    proxy: CuttingProxy


def killed_mid_upload(service: RunningStack, tmp_path: Path, count: int) -> Interrupted:
    """Submit a dataset over tus with the command, SIGKILL it once its PATCH is 8 MB in (a
    proxy holds the rest back), and wait for the service to keep what arrived. The caller
    closes the proxy."""
    path = invoices(tmp_path, count)
    state = tmp_path / "estado"
    proxy = CuttingProxy(int(service.env["AR_API_PORT"]), after=8_000_000, stall=True)
    command = subprocess.Popen(
        [str(COMMAND), "submit", str(path), *TYPE_AND_USER, "--tus"],
        env=command_env(proxy.url, state), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proxy.broke.wait(60), "the command's PATCH never reached 8 MB"
    finally:
        command.kill()  # SIGKILL: no chance to clean up
        command.wait()
    (entry,) = json.loads((state / "async-reports" / "uploads.json").read_text()).values()
    held = wait_until(lambda: held_past_a_part(service, entry["url"]), 30, what="the tail")
    assert isinstance(held, int)
    with proxy.lock:
        proxy.received = 0
    return Interrupted(path, state, entry["url"], held, proxy)


def test_a_killed_submit_is_continued_with_resume_from_the_servers_offset(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given a submit killed mid-upload, the service holding its first `held` bytes
    count = 40_000
    killed = killed_mid_upload(service, tmp_path, count)
    size = killed.path.stat().st_size
    assert 5 * MIB < killed.held < size
    # When it is run again with --resume (the proxy, passing everything now, counts it)
    done = run(killed.proxy.url, killed.state, "submit", str(killed.path), *TYPE_AND_USER,
               "--tus", "--resume", "--wait")  # fmt: skip
    killed.proxy.close()
    # Then it says where it resumes, sends only what was missing, and the job is exact
    assert done.returncode == 0, done.stderr
    assert f"Reanudando desde {killed.held * 100 // size} %" in done.stderr
    assert size - killed.held < killed.proxy.received < size - killed.held + 64 * 1024
    job_id = done.stdout.strip()
    assert job_id == killed.url.rsplit("/", 1)[1]
    assert_totals(service, job_id, count)
    assert json.loads((killed.state / "async-reports" / "uploads.json").read_text()) == {}


def test_a_vanished_upload_is_started_over_by_resume_saying_so(
    service: RunningStack, tmp_path: Path
) -> None:
    # Given a submit killed mid-upload, and its upload then deleted behind its back
    count = 35_000
    killed = killed_mid_upload(service, tmp_path, count)
    assert service.client.delete(killed.url, headers=TUS).status_code == 204
    # When it is run again with --resume
    done = run(killed.proxy.url, killed.state, "submit", str(killed.path), *TYPE_AND_USER,
               "--tus", "--resume")  # fmt: skip
    killed.proxy.close()
    # Then it says it starts over, sends it all, and the job is exact
    assert done.returncode == 0, done.stderr
    assert "ya no existe en el servicio" in done.stderr, done.stderr
    assert "se envía de nuevo desde el principio" in done.stderr
    job_id = done.stdout.strip()
    assert job_id != killed.url.rsplit("/", 1)[1]
    assert_totals(service, job_id, count)
    assert json.loads((killed.state / "async-reports" / "uploads.json").read_text()) == {}


def test_submit_without_resume_says_an_interrupted_upload_exists_and_starts_anew(
    service: RunningStack, tmp_path: Path
) -> None:
    killed = killed_mid_upload(service, tmp_path, 35_000)
    done = run(killed.proxy.url, killed.state, "submit", str(killed.path), *TYPE_AND_USER, "--tus")
    killed.proxy.close()
    assert done.returncode == 0, done.stderr
    assert "Hay una carga interrumpida de este archivo" in done.stderr
    assert "--resume" in done.stderr
    assert done.stdout.strip() != killed.url.rsplit("/", 1)[1]


def test_resume_with_no_tus_is_a_usage_error(service: RunningStack, tmp_path: Path) -> None:
    path = invoices(tmp_path, 2)
    done = run(service.url, tmp_path, "submit", str(path), *TYPE_AND_USER, "--resume", "--no-tus")
    assert done.returncode == 2
    assert "--resume" in done.stderr and "--no-tus" in done.stderr
