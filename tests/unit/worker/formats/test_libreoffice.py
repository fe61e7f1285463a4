"""The workbook opens in LibreOffice (skipped where LibreOffice is not installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reports_worker.reporttypes.facturacion import FacturacionMasiva
from tests.support.builds import Builder
from tests.support.data import invoice, item

LIBREOFFICE = shutil.which("libreoffice") or shutil.which("soffice")


@pytest.mark.skipif(LIBREOFFICE is None, reason="libreoffice is not installed")
@pytest.mark.timeout(180)
def test_libreoffice_reads_the_invoice_sheets(build: Builder, tmp_path: Path) -> None:
    # given a workbook whose invoices need two sheets, one name looking like a formula
    records = [
        invoice(f"F-{n}", customer={"taxId": "1", "name": "=1+1"}, items=[item(unitPrice=12.5)])
        for n in range(3)
    ]
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

    # then both invoice sheets read back with their header, the name as text, real numbers
    sheets = {
        path.stem.split("-", 1)[1]: path.read_text(encoding="utf-8").splitlines()
        for path in (tmp_path / "csv").glob("facturas-*.csv")
    }
    assert set(sheets) == {"Resumen", "Facturas", "Facturas 2"}
    header = "N° de factura,Fecha de emisión,Moneda,RUC/DNI del cliente,Cliente,"
    assert all(sheets[name][0].startswith(header) for name in ("Facturas", "Facturas 2"))
    rows = sheets["Facturas"][1:] + sheets["Facturas 2"][1:]
    assert [row.split(",")[0] for row in rows] == ["F-0", "F-1", "F-2"]
    assert all(row.split(",")[4] == "=1+1" for row in rows)  # not evaluated to 2
    assert all(row.endswith(",1,12.5,0,12.5") for row in rows)  # 1 item: 12.50 + 0 tax
