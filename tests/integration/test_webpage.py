"""The web page, in a real headless Chromium (Debian's ``chromium``, driven by Playwright)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.data import INVOICE
from tests.support.infra import Infra, unavailable
from tests.support.jobs import PLUGIN
from tests.support.stacks import RunningStack, StackFactory, StackPool

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request, Route


#: Debian's build (``apt-get install -y chromium``); Playwright never downloads its own here.
CHROMIUM = os.environ.get("AR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Longest wait for anything on the page (a small report takes a second or two).
WAIT_MS = 20_000
#: Longest wait for a job the page follows by polling: the api may say to come back in up
#: to 30 s (reports_api.jobs.views.POLL_BOUNDS), and the job takes its own time too.
POLLED_WAIT_MS = 45_000
MIB = 1024 * 1024
#: The vendored tus-js-client 4.3.1's dist/tus.min.js (web/static/vendor/tus-js-client/SOURCE.md).
TUS_JS_SHA256 = "8cbb1b63fccc3bba0ae73ad1deb160ce046c3750851d0c3e94921ae3ef070eb8"
#: Where the page keeps the ids of the jobs this browser sent (app.js's MINE_KEY).
MINE_KEY = "asyncReports.jobs"
#: The uploads the page keeps in localStorage to resume (tus-js-client's entries).
STORED_UPLOADS = (
    "Object.entries(localStorage).filter(([k]) => k.startsWith('tus::'))"
    ".map(([, v]) => JSON.parse(v).uploadUrl)"
)
#: How the page shows a date, everywhere: "6 dic, 07:28" (with the year when not this one).
DATE = r"\d{1,2} [a-z]{3,4}\.?( \d{4})?, \d{2}:\d{2}"
#: Where screenshots of the page go when set (to look at them; never committed).
SHOTS = os.environ.get("AR_WEB_SHOTS", "")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module's tests; each test gets its own context (and storage)."""
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (uv sync)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def opened(browser: Browser, url: str, width: int = 1280) -> Iterator[Page]:
    """A fresh browser profile on a page ``width`` pixels wide, failing the test on any
    script error."""
    context = browser.new_context(
        accept_downloads=True, locale="es-ES", viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(url)
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], errors


@pytest.fixture
def page(browser: Browser, module_stack: RunningStack) -> Iterator[Page]:
    """A fresh browser profile on the api's page, failing the test on any script error."""
    with opened(browser, module_stack.url + "/") as tab:
        yield tab


@pytest.fixture(scope="module")
def demora_service(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """A stack that also builds the test-only Demora type, whose jobs a test can hold."""
    pool = StackPool(infra, tmp_path_factory.mktemp("pagina"))
    yield pool.start(workers=1, report_plugins=PLUGIN)
    pool.stop_all()


def queue(stack: RunningStack, records: list[dict[str, Any]], user: str, key: str = "") -> str:
    """Queue a Demora job of ``user`` through the api, as another program would; its id."""
    response = stack.client.post(
        "/api/AsyncReports/queue-multipart",
        data={"reportType": "Demora", "userName": user, "isLargeDataset": "false"},
        files={"dataFile": ("d.json", json.dumps(records).encode(), "application/json")},
        headers={"X-API-Key": key} if key else {},
    )
    assert response.status_code == 202, response.text
    job_id: str = response.json()["jobId"]
    return job_id


def send_from_page(page: Page, folder: Path, records: list[dict[str, Any]], user: str) -> str:
    """Send ``records`` as a Demora job of ``user`` from the page's form; its id, once the
    api accepted it."""
    data = folder / f"demora-{uuid.uuid4().hex[:8]}.json"
    data.write_text(json.dumps(records))
    page.get_by_label("Tipo de reporte").select_option("Demora")
    page.get_by_label("Su correo o usuario").fill(user)
    page.get_by_label("Archivo de datos (JSON)").set_input_files(str(data))
    with page.expect_response(lambda r: r.url.endswith("/queue-multipart")) as answer:
        page.get_by_role("button", name="Generar reporte").click()
    assert answer.value.status == 202, answer.value.text()
    job_id: str = answer.value.json()["jobId"]
    page.get_by_role("row").filter(has_text=user).first.wait_for()
    until(page, lambda: page.get_by_role("button", name="Generar reporte").is_enabled())
    return job_id


def someone() -> str:
    """A user name of this test's alone, so its rows are told apart from other tests'."""
    return f"persona-{uuid.uuid4().hex[:10]}@empresa.com"


def held(folder: Path) -> list[dict[str, Any]]:
    """A Demora job's record that runs until ``folder/release`` exists; a cancel ends the
    job at once, but its worker stays in the record until the file is there."""
    return [{"hold": str(folder / "release"), "run": uuid.uuid4().hex}]


def dataset(folder: Path, count: int = 2) -> Path:
    """Invoices unique to this call (an identical dataset would be answered from the cache)."""
    run = uuid.uuid4().hex[:8]
    path = folder / "facturas.json"
    path.write_text(json.dumps([{**INVOICE, "invoiceNumber": f"W{run}-{n}"} for n in range(count)]))
    return path


def large_dataset(folder: Path, count: int = 3, size: int = 6 * MIB) -> Path:
    """Invoices unique to this call, padded with whitespace to ``size`` bytes: large enough
    for the page to send through tus (more than one 5 MiB chunk), quick to build."""
    run = uuid.uuid4().hex[:8]
    records = [json.dumps({**INVOICE, "invoiceNumber": f"T{run}-{n}"}) for n in range(count)]
    body = "[" + ",".join(records)
    path = folder / "facturas-grandes.json"
    path.write_text(body + " " * (size - len(body.encode()) - 1) + "]")
    return path


class TusTraffic:
    """The tus requests a page makes and their answers, as the api saw them."""

    def __init__(self, page: Page) -> None:
        self.calls: list[tuple[str, int, str]] = []  # method, status, Upload-Offset sent
        page.on("requestfinished", self._finished)

    def _finished(self, request: Request) -> None:
        if "/api/AsyncReports/uploads" not in request.url:
            return
        response = request.response()
        offset = request.headers.get("upload-offset", "")
        self.calls.append((request.method, response.status if response else 0, offset))

    def patches(self) -> list[tuple[int, int]]:
        """Each answered PATCH: its status and the offset it started from."""
        return [(status, int(offset)) for method, status, offset in self.calls if method == "PATCH"]


class PatchGate:
    """A slow link for the page's tus PATCHes: the first goes through, the next two are
    held (in ``held``) until the test lets one go, the later ones go through."""

    def __init__(self, page: Page) -> None:
        self.tried = 0  # counted as routed: a PATCH's "finished" event may come later
        self.held: list[Route] = []
        page.route("**/api/AsyncReports/uploads/*", self._route)

    def _route(self, route: Route) -> None:
        if route.request.method == "PATCH":
            self.tried += 1
            if 1 < self.tried <= 3:
                self.held.append(route)
                return
        route.continue_()


def half_sent(page: Page, data: Path) -> tuple[TusTraffic, list[Route]]:
    """Send ``data`` (a large dataset) from the page and wait until its first chunk reached
    the api and the second is held on its way; the page's tus traffic and the held PATCHes."""
    traffic = TusTraffic(page)
    held = PatchGate(page).held
    send(page, data)
    until(page, lambda: len(held) == 1 and len(traffic.patches()) == 1)
    return traffic, held


def download_report(page: Page, folder: Path) -> Path:
    """Click the page's link to the finished report; the file saved in ``folder`` under the
    name the api suggests."""
    with page.expect_download() as download:
        page.get_by_role("link", name="Descargar reporte", exact=True).click()
    saved = folder / download.value.suggested_filename
    download.value.save_as(saved)
    return saved


def downloaded_records(page: Page, folder: Path) -> int:
    """Download the finished report into ``folder``: the records its manifest counts."""
    with zipfile.ZipFile(download_report(page, folder)) as archive:
        count: int = json.loads(archive.read("manifest.json"))["recordsProcessed"]
    return count


def until(page: Page, condition: Callable[[], bool]) -> None:
    """Wait, letting the page's events through, until ``condition`` holds (a route handler's
    or a listener's record); the page's CSP forbids the string evaluation of
    ``wait_for_function``."""
    for _ in range(WAIT_MS // 100):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the page never got there")


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the whole page under $AR_WEB_SHOTS, when it is set."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def with_rejected(folder: Path) -> Path:
    """Two good invoices and one whose currency does not exist (rejected), unique to this call."""
    run = uuid.uuid4().hex[:8]
    records = [{**INVOICE, "invoiceNumber": f"R{run}-{n}"} for n in range(2)]
    records.append({**INVOICE, "invoiceNumber": f"R{run}-malo", "currency": "XXX1"})
    path = folder / "con-rechazos.json"
    path.write_text(json.dumps(records))
    return path


def text_of(page: Page, selector: str) -> str:
    """What an element says, its no-break spaces read as spaces."""
    return page.locator(selector).inner_text().replace("\u00a0", " ")


def fits(page: Page, width: int) -> None:
    """Nothing on the page is wider than the screen: it never scrolls sideways."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, scroll


def send(page: Page, data: Path) -> None:
    """Fill the form as a person would, by its labels, and send it."""
    page.get_by_label("Tipo de reporte").select_option("FacturacionMasiva")
    page.get_by_label("Su correo o usuario").fill("ana@empresa.com")
    page.get_by_label("Archivo de datos (JSON)").set_input_files(str(data))
    page.get_by_role("button", name="Generar reporte").click()


def test_a_file_sent_from_the_page_is_followed_to_completed_and_downloads(
    page: Page, tmp_path: Path
) -> None:
    # Given the page, and a file of two invoices chosen in the form
    # When it is sent
    send(page, dataset(tmp_path))

    # Then the page says, live, that the report is ready, both bars full
    status = page.get_by_role("status")
    status.filter(has_text="Reporte listo").wait_for()
    assert "2 registros" in status.inner_text()
    assert page.eval_on_selector("#subida", "bar => bar.value") == 100
    assert page.eval_on_selector("#proceso", "bar => bar.value") == 100
    # And the report downloads, a ZIP with its manifest
    assert downloaded_records(page, tmp_path) == 2
    # And the job is among the recent ones, completed
    row = page.get_by_role("row").filter(has_text="Facturación masiva")
    assert "Completado" in row.first.inner_text()


def test_a_small_files_upload_is_told_in_the_files_size_not_the_requests(
    page: Page, tmp_path: Path
) -> None:
    # Given a small file (sent in one multipart request, with the form's fields)
    data = dataset(tmp_path, count=1)
    file_size = data.stat().st_size
    assert file_size < 1000

    # When it is sent
    send(page, data)

    # Then the upload's note counts the file's bytes, never more than the file has
    page.get_by_role("status").filter(has_text="Reporte listo").wait_for()
    assert text_of(page, "#subida-detalle") == f"{file_size} B de {file_size} B"


def test_jobs_sent_from_this_browser_are_listed_after_a_reload(page: Page, tmp_path: Path) -> None:
    # Given a report made from this page
    send(page, dataset(tmp_path, count=1))
    page.get_by_role("status").filter(has_text="Reporte listo").wait_for()

    # When the page is opened again
    page.reload()

    # Then the job is listed, completed, with its download link
    row = page.get_by_role("row").filter(has_text="Facturación masiva").first
    row.get_by_role("link", name="Descargar").wait_for()
    assert "Completado" in row.inner_text()


def test_a_job_that_fails_shows_why_and_its_row_too(page: Page, tmp_path: Path) -> None:
    # Given a file that starts as JSON but breaks off
    data = tmp_path / "datos.json"
    data.write_text(f'[{{"invoiceNumber": "{uuid.uuid4()}", "items": [')

    # When it is sent
    send(page, data)

    # Then an alert says what is wrong with it, and nothing is offered for download
    alert = page.locator("#error")
    alert.wait_for()
    why = alert.inner_text()
    assert "JSON" in why
    assert alert.get_attribute("role") == "alert"
    assert not page.get_by_role("link", name="Descargar reporte", exact=True).is_visible()
    # And its row in the jobs list says it failed, and why
    row = page.get_by_role("row").filter(has_text="Con error").first
    row.filter(has_text=why).wait_for()
    shot(page, "escritorio-con-error")


def test_rejected_records_are_counted_with_a_hint_to_errores_csv_and_the_expiry_shown(
    page: Page, tmp_path: Path
) -> None:
    # Given the report types listed by the names people read
    page.get_by_label("Tipo de reporte").locator("option", has_text="Facturación masiva").wait_for(
        state="attached"
    )

    # When a file of two good invoices and one bad is sent
    send(page, with_rejected(tmp_path))

    # Then the page says the report is ready, with how many records were rejected
    status = page.get_by_role("status").filter(has_text="Reporte listo")
    status.wait_for()
    assert "2 registros; 1 registro rechazado" in status.inner_text()
    # And where to see them, and until when the report can be downloaded
    assert "errores.csv" in page.locator("#rechazados").inner_text()
    assert "disponible hasta" in page.locator("#descarga").inner_text()
    # And its row says the same, under the type's display name
    row = page.get_by_role("row").filter(has_text="Facturación masiva").first
    row.filter(has_text="1 registro rechazado").wait_for()
    assert "hasta" in row.inner_text()
    # And every date reads the same way: day, month and time ("6 dic, 07:28")
    created = row.locator("td.creado").inner_text()
    expiry = row.locator(".nota", has_text="hasta").inner_text().removeprefix("hasta ")
    shown = page.locator("#descarga-detalle").inner_text().split("disponible hasta ")[1]
    for date in (created, expiry, shown):
        assert re.fullmatch(DATE, date.replace("\u00a0", " ")), (created, expiry, shown)
    assert shown == expiry
    shot(page, "escritorio-listo-con-rechazos")


def test_the_csv_dialect_chosen_reaches_the_report(page: Page, tmp_path: Path) -> None:
    # Given the Excel-friendly CSV dialect chosen in the form
    page.get_by_label("Tipo de reporte").select_option("FacturacionMasiva")
    dialect = page.get_by_label("Formato de los archivos CSV")
    dialect.select_option(label="Excel en español (punto y coma)")

    # When a file is sent and its report downloaded
    send(page, dataset(tmp_path))
    page.get_by_role("status").filter(has_text="Reporte listo").wait_for()
    saved = download_report(page, tmp_path)

    # Then its CSV is the Excel dialect: a BOM, semicolons
    with zipfile.ZipFile(saved) as archive:
        csv = archive.read("facturas.csv")
    assert csv.startswith(b"\xef\xbb\xbf")
    assert b";" in csv.splitlines()[0]


def test_a_missing_user_is_told_in_spanish_beside_the_field(page: Page, tmp_path: Path) -> None:
    # Given a form with a type and a file but no user
    page.get_by_label("Tipo de reporte").select_option("FacturacionMasiva")
    page.get_by_label("Su correo o usuario").fill("")
    page.get_by_label("Archivo de datos (JSON)").set_input_files(str(dataset(tmp_path, 1)))

    # When it is sent
    page.get_by_role("button", name="Generar reporte").click()

    # Then the page's own message is beside the field (not the browser's), and focus is there
    user = page.get_by_label("Su correo o usuario")
    message = page.locator("#usuario-error")
    message.wait_for()
    assert message.inner_text() == "Escriba su correo o usuario."
    assert user.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "usuario"
    assert page.evaluate("document.getElementById('formulario').noValidate")
    assert page.locator("#seguimiento").is_hidden()


def test_a_file_that_cannot_be_json_is_refused_before_it_is_uploaded(
    page: Page, tmp_path: Path
) -> None:
    # Given a PDF chosen as the data file, and every request the page makes watched
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    pdf = tmp_path / "facturas.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 4000)
    page.get_by_label("Tipo de reporte").select_option("FacturacionMasiva")
    page.get_by_label("Su correo o usuario").fill("ana@empresa.com")
    page.get_by_label("Archivo de datos (JSON)").set_input_files(str(pdf))

    # Then the page says at once what it looks like
    message = page.locator("#archivo-error")
    message.filter(has_text="parece un PDF").wait_for()

    # And when it is sent anyway, nothing is uploaded
    page.get_by_role("button", name="Generar reporte").click()
    page.get_by_text("Revise los campos marcados.").wait_for()
    assert "parece un PDF" in message.inner_text()
    assert not any("queue-multipart" in url for url in sent), sent
    assert page.locator("#seguimiento").is_hidden()
    shot(page, "escritorio-pdf-rechazado")


def test_at_390_px_the_form_and_a_finished_report_fit_without_sideways_scrolling(
    browser: Browser, module_stack: RunningStack, tmp_path: Path
) -> None:
    with opened(browser, module_stack.url + "/", width=390) as page:
        # Given a report with a rejected record, made on a screen 390 px wide
        page.get_by_label("Tipo de reporte").select_option("FacturacionMasiva")
        page.get_by_label("Formato de los archivos CSV").select_option("excel-es")
        send(page, with_rejected(tmp_path))
        page.get_by_role("status").filter(has_text="Reporte listo").wait_for()

        # Then nothing scrolls sideways, and the download is on screen
        fits(page, 390)
        box = page.get_by_role("link", name="Descargar reporte", exact=True).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
        row = page.get_by_role("row").filter(has_text="1 registro rechazado").first
        box = row.get_by_role("link", name="Descargar").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
        shot(page, "390-listo-con-rechazos")

        # And a field's own message fits too
        page.get_by_label("Su correo o usuario").fill("")
        page.get_by_role("button", name="Generar reporte").click()
        page.locator("#usuario-error").wait_for()
        fits(page, 390)
        shot(page, "390-falta-usuario")


def test_the_form_can_be_filled_and_sent_with_the_keyboard_alone(
    page: Page, tmp_path: Path
) -> None:
    # Given the report types listed (the select says "Cargando tipos…" until then, and a key
    # pressed on it before does nothing), focus on the report type, moved by Tab
    tipo = page.get_by_label("Tipo de reporte")
    tipo.get_by_role("option", name="Elija un tipo de reporte").wait_for(state="attached")
    tipo.focus()
    page.keyboard.press("ArrowDown")  # the first real type
    page.keyboard.press("Tab")
    page.keyboard.type("ana@empresa.com")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id")
    assert focused == "archivo"  # the file chooser is reachable by keyboard
    page.get_by_label("Archivo de datos (JSON)").set_input_files(str(dataset(tmp_path, 1)))

    # When the form is sent with Enter from the user field
    page.get_by_label("Su correo o usuario").press("Enter")

    # Then the job is accepted and followed
    page.get_by_role("status").filter(has_text="Reporte listo").wait_for()


# --- recent jobs: the history, cancelling ---------------------------------------------------


def test_recent_jobs_are_this_browsers_newest_first_with_how_each_ended(
    browser: Browser, demora_service: RunningStack, tmp_path: Path
) -> None:
    user = someone()
    with opened(browser, demora_service.url + "/") as page:
        # Given a job sent from this browser that failed, then one that completed
        failed = send_from_page(page, tmp_path, [{"sleep": "no es un número"}], user)
        demora_service.wait_finished(failed)
        completed = send_from_page(page, tmp_path, [{"sleep": 0, "run": uuid.uuid4().hex}], user)
        demora_service.wait_finished(completed)
        # And one of the same user sent by another program
        other = queue(demora_service, [{"sleep": 0, "run": uuid.uuid4().hex}], user)
        demora_service.wait_finished(other)

        # When the page is opened again
        page.reload()

        # Then this browser's two are listed, the newest first, each as it ended, and not
        # the other program's; the page says whose they are
        rows = page.get_by_role("row").filter(has_text=user)
        rows.nth(1).get_by_role("cell").first.wait_for()
        rows.nth(0).get_by_role("link", name="Descargar").wait_for()
        assert rows.count() == 2
        assert "Completado" in rows.nth(0).inner_text()
        assert "Con error" in rows.nth(1).inner_text()
        assert "enviados desde este navegador" in page.locator("#recientes-ayuda").inner_text()

    # And another browser lists none of them, and says why
    with opened(browser, demora_service.url + "/") as page:
        page.get_by_text("Todavía no hay trabajos enviados desde este navegador.").wait_for()
        page.get_by_role("button", name="Actualizar").click()
        page.wait_for_timeout(500)
        assert page.get_by_role("row").filter(has_text=user).count() == 0


def test_a_job_the_service_no_longer_has_is_forgotten_by_this_browser(
    browser: Browser, demora_service: RunningStack, tmp_path: Path
) -> None:
    user = someone()
    with opened(browser, demora_service.url + "/") as page:
        # Given a job sent from this browser, and a newer one it remembers that the service
        # does not have (expired and deleted since, say)
        sent = send_from_page(page, tmp_path, [{"sleep": 0, "run": uuid.uuid4().hex}], user)
        page.evaluate(
            "([key, id]) => localStorage.setItem(key, "
            "JSON.stringify([id, ...JSON.parse(localStorage.getItem(key))]))",
            [MINE_KEY, uuid.uuid4().hex],
        )

        # When the list is read again
        page.get_by_role("button", name="Actualizar").click()

        # Then the browser forgets the one the service does not have, and lists the other
        until(
            page, lambda: page.evaluate(f"JSON.parse(localStorage.getItem('{MINE_KEY}'))") == [sent]
        )
        rows = page.get_by_role("row").filter(has_text=user)
        rows.first.wait_for()
        assert rows.count() == 1
    demora_service.wait_finished(sent)


def test_a_running_job_is_cancelled_from_its_row(
    browser: Browser, demora_service: RunningStack, tmp_path: Path
) -> None:
    # Given a job sent from the page that runs until the test lets it go, listed on the page
    user = someone()
    with opened(browser, demora_service.url + "/") as page:
        job_id = send_from_page(page, tmp_path, held(tmp_path), user)
        page.reload()  # no longer followed: the row offers to follow it, and to cancel it
        row = page.get_by_role("row").filter(has_text=user)
        row.get_by_role("button", name="Seguir").wait_for()
        cancel = row.get_by_role("button", name="Cancelar")

        # When its Cancelar button is pressed
        cancel.click()

        # Then the page says so, the row shows it cancelled with nothing left to press
        page.get_by_role("status").filter(has_text="Trabajo cancelado").wait_for()
        row.filter(has_text="Cancelado").wait_for()
        assert row.get_by_role("button").count() == 0
    # And the service has cancelled it
    assert demora_service.status(job_id)["outcome"] == "Cancelled"
    (tmp_path / "release").touch()  # a held record ends only so: the worker is free again


def test_at_390_px_the_jobs_list_fits_without_sideways_scrolling(
    browser: Browser, demora_service: RunningStack, tmp_path: Path
) -> None:
    # Given a finished job of a user with a long name, and a running one, sent from a
    # screen 390 px wide
    user = "maria.fernanda.gonzalez-" + someone()
    with opened(browser, demora_service.url + "/", width=390) as page:
        finished = send_from_page(page, tmp_path, [{"sleep": 0, "run": uuid.uuid4().hex}], user)
        demora_service.wait_finished(finished)
        job_id = send_from_page(page, tmp_path, held(tmp_path), user)

        # When the page is opened again
        page.reload()
        cancel = (
            page.get_by_role("row").filter(has_text=user).get_by_role("button", name="Cancelar")
        )
        cancel.wait_for()
        page.get_by_role("row").filter(has_text=user).get_by_role("link").wait_for()

        # Then neither the page nor the list scrolls sideways, and Cancelar is on screen
        widths = page.evaluate(
            "[document.documentElement.scrollWidth, document.querySelector('.tabla-contenedor')"
            ".scrollWidth, document.querySelector('.tabla-contenedor').clientWidth]"
        )
        assert widths[0] <= 390 and widths[1] <= widths[2], widths
        box = cancel.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, box
        shot(page, "390-trabajos")
    (tmp_path / "release").touch()
    demora_service.wait_finished(job_id)


def test_mostrar_mas_lists_the_next_older_jobs(
    browser: Browser, demora_service: RunningStack, tmp_path: Path
) -> None:
    # Given 21 jobs sent from this browser, one more than the page lists at first
    user = someone()
    with opened(browser, demora_service.url + "/") as page:
        ids = [
            send_from_page(page, tmp_path, [{"sleep": 0, "run": uuid.uuid4().hex}], user)
            for _ in range(21)
        ]
        page.reload()
        rows = page.get_by_role("row").filter(has_text=user)
        rows.nth(19).wait_for()
        assert rows.count() == 20
        shot(page, "escritorio-trabajos")

        # When more are asked for
        page.get_by_role("button", name="Mostrar más").click()

        # Then the oldest is listed too, and nothing more is offered
        rows.nth(20).wait_for()
        assert page.get_by_role("button", name="Mostrar más").is_hidden()
    demora_service.wait_finished(ids[-1])


# --- large files: sent through tus, resumable ----------------------------------------------


def test_a_large_file_goes_through_tus_and_is_followed_to_completed_and_downloads(
    page: Page, tmp_path: Path
) -> None:
    # Given a file of three invoices, 6 MB (more than one chunk)
    traffic = TusTraffic(page)

    # When it is sent from the page
    send(page, large_dataset(tmp_path))

    # Then it went as a tus upload, in two PATCHes of consecutive offsets, none multipart
    status = page.get_by_role("status")
    status.filter(has_text="Reporte listo").wait_for()
    assert [call[0] for call in traffic.calls] == ["POST", "PATCH", "PATCH"], traffic.calls
    assert traffic.patches() == [(204, 0), (204, 5 * MIB)]
    # And its job is followed to the end, with its totals
    assert "3 registros" in status.inner_text()
    assert page.eval_on_selector("#subida", "bar => bar.value") == 100
    # And its size in decimal units, as people read them: 6 MiB is 6,3 MB, not "6 MB"
    assert text_of(page, "#archivo-elegido") == "Archivo elegido: facturas-grandes.json (6,3 MB)."
    assert text_of(page, "#subida-detalle") == "6,3 MB de 6,3 MB"
    assert downloaded_records(page, tmp_path) == 3
    # And listed among the recent jobs, completed
    row = page.get_by_role("row").filter(has_text="Facturación masiva")
    assert "Completado" in row.first.inner_text()
    # And nothing is left to resume
    assert page.evaluate(STORED_UPLOADS) == []


def test_a_connection_dropped_mid_upload_resumes_by_itself_from_the_apis_offset(
    page: Page, tmp_path: Path
) -> None:
    # Given the page's second PATCH cut once, as a dropped connection would
    traffic = TusTraffic(page)
    patches: list[str] = []  # the offset of each PATCH the page tried
    cut: list[str] = []

    def drop_once(route: Route) -> None:
        if route.request.method == "PATCH":
            patches.append(route.request.headers.get("upload-offset", ""))
            if len(patches) == 2:
                cut.append(patches[-1])
                route.abort("connectionreset")
                return
        route.continue_()

    page.route("**/api/AsyncReports/uploads/*", drop_once)

    # When a large file is sent
    send(page, large_dataset(tmp_path, count=4))

    # Then the page asks the api where the upload stands and goes on from there by itself
    status = page.get_by_role("status")
    status.filter(has_text="Reporte listo").wait_for()
    assert cut == [str(5 * MIB)]
    methods = [call[0] for call in traffic.calls]
    assert methods == ["POST", "PATCH", "HEAD", "PATCH"], traffic.calls
    assert traffic.patches() == [(204, 0), (204, 5 * MIB)]
    # And the report has every record, once
    assert "4 registros" in status.inner_text()


def test_an_upload_cut_by_going_offline_goes_on_by_itself_when_the_network_is_back(
    page: Page, tmp_path: Path
) -> None:
    # Given a large file whose first chunk reached the api, the second on its way
    traffic, held = half_sent(page, large_dataset(tmp_path, count=2))

    # When the browser goes offline, cutting it
    page.context.set_offline(True)
    held[0].abort("internetdisconnected")

    # Then the page says it waits for the network
    status = page.get_by_role("status")
    status.filter(has_text="Sin conexión").wait_for()
    before = len(traffic.calls)

    # And when the network is back, it asks the api where the upload stands and goes on
    page.context.set_offline(False)
    until(page, lambda: len(held) == 2)
    held[1].continue_()
    status.filter(has_text="Reporte listo").wait_for()
    after = traffic.calls[before:]
    assert after == [("HEAD", 200, ""), ("PATCH", 204, str(5 * MIB))], traffic.calls
    assert "2 registros" in status.inner_text()


@pytest.mark.parametrize("width", [1280, 390])
def test_an_upload_that_stalls_says_so_and_its_note_stops_when_it_ends(
    browser: Browser, module_stack: RunningStack, tmp_path: Path, width: int
) -> None:
    with opened(browser, module_stack.url + "/", width=width) as page:
        # Given a large file whose first chunk reached the api, the second held on its way
        _, held = half_sent(page, large_dataset(tmp_path))

        # Then, with no byte moving, the note under the bar says for how long (it froze on the
        # last speed before)
        note = page.locator("#subida-detalle")
        note.filter(has_text="sin avance desde hace").wait_for()
        first = text_of(page, "#subida-detalle")
        assert first.startswith("5,2 MB de 6,3 MB · sin avance desde hace "), first
        until(page, lambda: text_of(page, "#subida-detalle") != first)  # it goes on counting
        fits(page, width)
        shot(page, f"{width}-subida-sin-avance")

        # And when the upload is cancelled, the note keeps what was sent, and stays so
        page.get_by_role("button", name="Cancelar envío").click()
        page.get_by_role("status").filter(has_text="Envío cancelado").wait_for()
        assert text_of(page, "#subida-detalle") == "5,2 MB de 6,3 MB"
        page.wait_for_timeout(2500)
        assert text_of(page, "#subida-detalle") == "5,2 MB de 6,3 MB"
        held[0].continue_()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_file_picked_again_after_a_reload_resumes_from_the_apis_offset(
    browser: Browser, module_stack: RunningStack, tmp_path: Path, width: int
) -> None:
    with opened(browser, module_stack.url + "/", width=width) as page:
        # Given a large file whose first chunk reached the api, the second held on its way
        data = large_dataset(tmp_path)
        traffic, held = half_sent(page, data)
        assert traffic.patches() == [(204, 0)], traffic.calls

        # When the page is reloaded and the same file is picked again, with the same fields
        page.reload()
        before = len(traffic.calls)
        page.get_by_label("Tipo de reporte").select_option("FacturacionMasiva")
        page.get_by_label("Su correo o usuario").fill("ana@empresa.com")
        page.get_by_label("Archivo de datos (JSON)").set_input_files(str(data))
        page.get_by_text("Ya se empezó a enviar").wait_for()
        page.get_by_role("button", name="Generar reporte").click()

        # Then the page says it resumes, from the share the api already has
        status = page.get_by_role("status")
        status.filter(has_text="Reanudando la subida desde el 83 %").wait_for()
        until(page, lambda: len(held) == 2)
        fits(page, width)
        shot(page, f"{width}-reanudando")
        held[-1].continue_()

        # And the upload ends from there, no new one created, and the report has every record
        status.filter(has_text="Reporte listo").wait_for()
        after = traffic.calls[before:]
        assert [call[0] for call in after] == ["HEAD", "PATCH"], traffic.calls
        assert traffic.patches()[-1] == (204, 5 * MIB)
        assert "3 registros" in status.inner_text()
        assert page.evaluate(STORED_UPLOADS) == []
        fits(page, width)
        shot(page, f"{width}-reanudado-listo")


def test_an_upload_gone_from_the_api_is_sent_again_from_the_start_and_the_page_says_so(
    page: Page, module_stack: RunningStack, tmp_path: Path
) -> None:
    # Given a large file half sent, then the page reloaded, and the upload gone from the api
    data = large_dataset(tmp_path, count=2)
    traffic, held = half_sent(page, data)
    page.reload()
    (url,) = page.evaluate(STORED_UPLOADS)
    gone = module_stack.client.delete(url, headers={"Tus-Resumable": "1.0.0"})
    assert gone.status_code == 204, gone.text
    before = len(traffic.calls)

    # When the same file is sent again
    send(page, data)

    # Then the page says the earlier upload is gone and sends the whole file again
    status = page.get_by_role("status")
    status.filter(has_text="ya no está en el servicio").wait_for()
    assert "desde el principio" in status.inner_text()
    # And the note under the file no longer says the upload goes on where it stopped
    assert "Ya se empezó a enviar" not in page.locator("#archivo-elegido").inner_text()
    until(page, lambda: len(held) == 2)
    shot(page, "escritorio-subida-perdida")
    held[-1].continue_()
    status.filter(has_text="Reporte listo").wait_for()
    after = traffic.calls[before:]
    assert [(c[0], c[1]) for c in after] == [("HEAD", 404), ("POST", 201), ("PATCH", 204),
                                            ("PATCH", 204)], after  # fmt: skip
    assert [c[2] for c in after[2:]] == ["0", str(5 * MIB)]
    assert "2 registros" in status.inner_text()


def test_an_upload_gone_while_being_sent_is_sent_again_from_the_start_by_itself(
    page: Page, module_stack: RunningStack, tmp_path: Path
) -> None:
    # Given a large file whose first chunk reached the api, the second on its way
    traffic, held = half_sent(page, large_dataset(tmp_path, count=2))

    # When the upload is gone from the api (expired) before the second chunk arrives
    (url,) = page.evaluate(STORED_UPLOADS)
    assert module_stack.client.delete(url, headers={"Tus-Resumable": "1.0.0"}).status_code == 204
    before = len(traffic.calls)
    held[0].continue_()

    # Then the page says so and sends the whole file again, as a new upload
    status = page.get_by_role("status")
    status.filter(has_text="ya no está en el servicio").wait_for()
    until(page, lambda: len(held) == 2)
    held[1].continue_()
    status.filter(has_text="Reporte listo").wait_for()
    after = [call for call in traffic.calls[before:] if call[0] != "HEAD"]
    assert after == [("PATCH", 404, str(5 * MIB)), ("POST", 201, ""), ("PATCH", 204, "0"),
                     ("PATCH", 204, str(5 * MIB))], traffic.calls  # fmt: skip
    assert "2 registros" in status.inner_text()


def test_cancelling_a_tus_upload_deletes_it_on_the_api(
    page: Page, module_stack: RunningStack, tmp_path: Path
) -> None:
    # Given a large file half sent
    traffic, _ = half_sent(page, large_dataset(tmp_path))
    (url,) = page.evaluate(STORED_UPLOADS)

    # When the user cancels it
    page.get_by_role("button", name="Cancelar envío").click()

    # Then the page says so, the api no longer has it, and nothing is left to resume
    page.get_by_role("status").filter(has_text="Envío cancelado").wait_for()
    until(page, lambda: any(call[0] == "DELETE" for call in traffic.calls))
    assert ("DELETE", 204, "") in traffic.calls
    asked = module_stack.client.head(url, headers={"Tus-Resumable": "1.0.0"})
    assert asked.status_code == 404
    assert page.evaluate(STORED_UPLOADS) == []
    assert page.get_by_role("button", name="Generar reporte").is_enabled()


def test_metadata_the_api_refuses_at_creation_is_told_in_its_words_and_nothing_is_sent(
    page: Page, tmp_path: Path
) -> None:
    # Given a CSV format the report type does not have (as an old page could still offer)
    traffic = TusTraffic(page)
    page.get_by_label("Tipo de reporte").select_option("FacturacionMasiva")
    page.get_by_label("Su correo o usuario").fill("ana@empresa.com")
    page.get_by_label("Archivo de datos (JSON)").set_input_files(str(large_dataset(tmp_path)))
    page.evaluate(
        "(() => { const d = document.getElementById('dialecto');"
        " d.append(new Option('Antiguo', 'antiguo')); d.value = 'antiguo'; })()"
    )

    # When the large file is sent
    page.get_by_role("button", name="Generar reporte").click()

    # Then the api's own explanation is beside the form, and no byte was sent
    warning = page.locator("#aviso")
    warning.wait_for()
    assert "antiguo" in warning.inner_text(), warning.inner_text()
    assert "no fue aceptado" in page.get_by_role("status").inner_text()
    until(page, lambda: bool(traffic.calls))  # its "finished" event may come after
    assert [(c[0], c[1]) for c in traffic.calls] == [("POST", 400)], traffic.calls
    assert page.get_by_role("button", name="Generar reporte").is_enabled()


def test_a_file_over_the_apis_limit_is_refused_at_creation_in_spanish(
    browser: Browser, make_stack: StackFactory, tmp_path: Path
) -> None:
    # Given an api that takes files of at most 5 MiB (5,2 MB), and a file of 6 MiB (6,3 MB)
    small = make_stack(workers=1, janitor=False, max_upload_bytes=5 * MIB)
    with opened(browser, small.url + "/") as page:
        traffic = TusTraffic(page)

        # When it is sent
        send(page, large_dataset(tmp_path))

        # Then the page says, in the api's words and its units, what the limit is; nothing
        # was sent
        warning = page.locator("#aviso")
        warning.filter(has_text="supera el máximo permitido de 5,2 MB.").wait_for()
        until(page, lambda: bool(traffic.calls))  # its "finished" event may come after
        assert [(c[0], c[1]) for c in traffic.calls] == [("POST", 413)], traffic.calls


# --- the page's files, without a browser ----------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/ui"])
def test_the_page_is_served_with_its_security_headers(
    module_stack: RunningStack, path: str
) -> None:
    response = module_stack.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="es">' in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_vendored_tus_client_is_served_with_the_pages_security_headers(
    module_stack: RunningStack,
) -> None:
    script = module_stack.client.get("/ui/vendor/tus-js-client/tus.min.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "default-src 'self'" in script.headers["content-security-policy"]
    assert script.headers["cache-control"] == "no-cache"
    assert hashlib.sha256(script.content).hexdigest() == TUS_JS_SHA256


def test_the_script_and_style_sheet_are_served(module_stack: RunningStack) -> None:
    script = module_stack.client.get("/ui/app.js")
    style = module_stack.client.get("/ui/styles.css")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert module_stack.client.get("/ui/nada.js").status_code == 404


def test_with_api_keys_the_page_asks_for_one_and_works_with_it(
    browser: Browser, make_stack: StackFactory, tmp_path: Path
) -> None:
    # Given an api that runs with API keys, opened in a fresh browser
    key = "clave-del-erp-" + uuid.uuid4().hex
    operator = "clave-de-operacion-" + uuid.uuid4().hex
    keyed = make_stack(workers=1, api_keys=f"client:erp:{key},operator:ops:{operator}")
    context = browser.new_context(accept_downloads=True, locale="es-ES")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(keyed.url + "/")
        # Then the page asks for a key (the api refused to list the report types)
        key_field = page.get_by_label("Clave de API")
        key_field.wait_for()
        # When the key is given, the types load and a file is sent
        key_field.fill(key)
        key_field.press("Tab")
        page.get_by_label("Tipo de reporte").locator(
            "option", has_text="Facturación masiva"
        ).wait_for(state="attached")
        send(page, dataset(tmp_path))

        # Then the job is followed to the end (by polling: EventSource sends no key)
        page.get_by_role("status").filter(has_text="Reporte listo").wait_for(timeout=POLLED_WAIT_MS)
        # And the report downloads with the key
        saved = download_report(page, tmp_path)
        with zipfile.ZipFile(saved) as archive:
            assert json.loads(archive.read("manifest.json"))["recordsProcessed"] == 2
        assert saved.suffix == ".zip"
        # And a large file goes through tus with the key too
        traffic = TusTraffic(page)
        send(page, large_dataset(tmp_path))
        # Polled as the api's Retry-After says: after a job of a few records, a fresh
        # stack's estimate for 6 MB is of seconds (it said 440 s, and 30 s between polls).
        page.get_by_role("status").filter(has_text="Reporte listo con 3 registros").wait_for(
            timeout=POLLED_WAIT_MS
        )
        assert [call[:2] for call in traffic.calls] == [("POST", 201), ("PATCH", 204),
                                                        ("PATCH", 204)], traffic.calls  # fmt: skip
    finally:
        context.close()
    assert errors == [], errors


def test_with_api_keys_the_page_lists_and_cancels_the_keys_own_jobs(
    browser: Browser, make_stack: StackFactory, tmp_path: Path
) -> None:
    # Given an api with API keys, and a browser that sent a running job with another
    # client's key, then one with its own
    mine, theirs = "clave-mia-" + uuid.uuid4().hex, "clave-ajena-" + uuid.uuid4().hex
    operator = "clave-de-operacion-" + uuid.uuid4().hex
    keys = f"client:mia:{mine},client:ajena:{theirs},operator:ops:{operator}"
    keyed = make_stack(workers=1, report_plugins=PLUGIN, api_keys=keys)

    with opened(browser, keyed.url + "/") as page:
        key_field = page.get_by_label("Clave de API")
        key_field.wait_for()  # the page asks for a key: the report types were refused
        key_field.fill(theirs)
        key_field.press("Tab")
        other = send_from_page(page, tmp_path, held(tmp_path), "luis@empresa.com")
        key_field.fill(mine)
        key_field.press("Tab")
        job_id = send_from_page(page, tmp_path, held(tmp_path), "ana@empresa.com")

        # When the page is opened again, with its key
        page.reload()

        # Then the key's own job is listed, not the other client's
        row = page.get_by_role("row").filter(has_text="ana@empresa.com")
        row.get_by_role("button", name="Cancelar").wait_for()
        assert page.get_by_role("row").filter(has_text="luis@empresa.com").count() == 0
        # And it is cancelled with the key
        row.get_by_role("button", name="Cancelar").click()
        row.filter(has_text="Cancelado").wait_for()
    assert keyed.wait_finished_as(job_id, mine)["outcome"] == "Cancelled"
    (tmp_path / "release").touch()
    assert keyed.wait_finished_as(other, theirs)["outcome"] == "Completed"
