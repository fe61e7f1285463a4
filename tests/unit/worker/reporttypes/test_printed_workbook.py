"""facturas.xlsx printed to PDF by LibreOffice reads as a finished report.

Skipped where LibreOffice or pdftotext (Debian's poppler-utils) is not installed.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import dataclass

import pytest

from tests.support.builds import Builder
from tests.support.data import invoice, item

LIBREOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
PDFINFO = shutil.which("pdfinfo")
INVOICES = 240

pytestmark = [
    pytest.mark.skipif(LIBREOFFICE is None, reason="libreoffice is not installed"),
    pytest.mark.skipif(
        PDFTOTEXT is None or PDFINFO is None, reason="poppler-utils is not installed"
    ),
    pytest.mark.timeout(240),
]


def _records() -> list[dict[str, object]]:
    # Three currencies, three tax rates, amounts up to hundreds of billions: the widest
    # totals a summary shows must still print whole.
    currencies = ("PEN", "USD", "EUR")
    return [
        invoice(
            f"F001-{n:08d}",
            currency=currencies[n % 3],
            customer={"taxId": f"20{n:09d}", "name": f"Cliente número {n}", "email": "a@b.pe"},
            items=[
                item(quantity=n + 1, unitPrice=987_654_321.99, taxRate=(0, 0.1, 0.18)[n % 3]),
                item(quantity=1, unitPrice=12.5, taxRate=0.18),
            ],
        )
        for n in range(INVOICES)
    ]


@dataclass
class Printed:
    """The workbook printed to PDF: each page's text, laid out as on the page, and size."""

    pages: list[str]
    sizes: list[tuple[float, float]]


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """facturas.xlsx of 240 invoices, printed by LibreOffice."""
    from tests.support.builds import builder

    folder = tmp_path_factory.mktemp("printed")
    build: Builder = builder(folder)
    xlsx = build(_records()).extract("facturas.xlsx", folder)
    assert LIBREOFFICE is not None and PDFTOTEXT is not None and PDFINFO is not None
    subprocess.run(
        [
            LIBREOFFICE,
            "--headless",
            f"-env:UserInstallation=file://{folder}/profile",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=200,
    )
    pdf = str(folder / "facturas.pdf")
    text = subprocess.run(
        [PDFTOTEXT, "-layout", pdf, "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = text.split("\f")[:-1]  # each page ends with a form feed
    info = subprocess.run(
        [PDFINFO, "-f", "1", "-l", str(len(pages)), pdf],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    sizes = [
        (float(width), float(height))
        for width, height in re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+)", info)
    ]
    return Printed(pages, sizes)


def _lines(page: str) -> list[list[str]]:
    return [line.split() for line in page.splitlines() if line.strip()]


def test_summary_prints_on_one_page_with_every_total(printed: Printed) -> None:
    # given the summary's page and the invoices' pages after it
    summary, rest = printed.pages[0], printed.pages[1:]

    # then the first page alone is the summary; the next begins the invoices
    assert "Resumen de facturación masiva" in summary
    assert all("Resumen de facturación masiva" not in page for page in rest)
    assert "N° de factura" in rest[0]

    # and every currency's row shows its count, subtotal, tax and total, whole, on page 1
    codes = ("PEN", "USD", "EUR")
    rows = {w[0]: w[1:] for w in _lines(summary) if w[0] in codes and "%" not in w[1]}
    assert set(rows) == {"PEN", "USD", "EUR"}
    for code, row in rows.items():
        assert row[0] == "80", code  # 80 invoices each
        subtotal, tax, total = (float(amount.replace(",", "")) for amount in row[1:4])
        assert subtotal > 1e12 and subtotal + tax == pytest.approx(total), code
    rate_rows = [words for words in _lines(summary) if words[0] in rows and "%" in words[1]]
    assert len(rate_rows) == 5  # its invoices' rate and the 18 % lines; EUR's are both 18 %

    # and the generation time and parameters print whole, nothing as ###
    assert re.search(r"Generado \(UTC\)\s+15/01/2026 10:05:30", summary)
    assert re.search(r"Parámetros\s+csvDialect=rfc4180", summary)
    assert "###" not in "".join(printed.pages)


def test_invoices_print_landscape_with_every_column_on_every_page(printed: Printed) -> None:
    # given the invoices' pages
    pages = printed.pages[1:]
    numbers = [re.findall(r"F001-\d{8}", page) for page in pages]

    # then they are landscape A4, the summary portrait A4
    assert len(printed.sizes) == len(printed.pages)
    assert printed.sizes[0] == pytest.approx((595.3, 841.9), abs=1)
    assert all(size == pytest.approx((841.9, 595.3), abs=1) for size in printed.sizes[1:])

    # and each page holds whole rows: number, client, every amount, under the header row
    header = re.compile(r"N° de factura.*Cliente.*Correo del cliente.*Subtotal.*Impuesto.*Total")
    for page, found in zip(pages, numbers, strict=True):
        assert header.search(page.replace("\n", " "))
        for words in _lines(page):
            if re.fullmatch(r"F001-\d{8}", words[0]):
                amounts = [word for word in words if re.fullmatch(r"[\d,]+\.\d\d", word)]
                assert "a@b.pe" in words and len(amounts) == 3
        assert found
    assert [n for found in numbers for n in found] == [f"F001-{n:08d}" for n in range(INVOICES)]

    # and the page count is the rows over the rows a page holds, not several times that
    per_page = len(numbers[0])
    assert per_page >= 30
    assert len(pages) == math.ceil(INVOICES / per_page)


def test_every_page_is_numbered_and_names_the_report(printed: Printed) -> None:
    total = len(printed.pages)
    for number, page in enumerate(printed.pages, start=1):
        assert f"Página {number} de {total}" in page
        assert page.lstrip().startswith("Facturación masiva")
