"""The workbook opens in LibreOffice (skipped where LibreOffice is not installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reports_worker.reports.facturacion import FacturacionMasiva

from .conftest import Builder, invoice

LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")


@pytest.mark.skipif(LIBREOFFICE is None, reason="libreoffice is not installed")
@pytest.mark.timeout(180)
def test_libreoffice_reads_the_invoice_sheet(build: Builder, tmp_path: Path) -> None:
    # given a workbook whose invoices need two sheets
    records = [invoice(f"F-{n}", customer={"taxId": "1", "name": "=1+1"}) for n in range(3)]
    built = build(records, FacturacionMasiva(sheet_row_limit=3))
    xlsx = built.extract("facturas.xlsx", tmp_path)

    # when LibreOffice converts every sheet to CSV (token 12 = -1: one file per sheet)
    assert LIBREOFFICE is not None
    subprocess.run(
        [
            LIBREOFFICE,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(tmp_path / "csv"),
            str(xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=170,
    )

    # then the rows read back, the formula-like name as text
    [converted] = (tmp_path / "csv").glob("*-Facturas.csv")
    lines = converted.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("N° de factura,")
    assert lines[1].startswith("F-0,")
    assert "=1+1" in lines[1]
