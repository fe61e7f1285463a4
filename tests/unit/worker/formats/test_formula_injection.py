"""User text that a spreadsheet would run as a formula is made inert in CSV and XLSX."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.support.builds import Builder
from tests.support.data import invoice, item

DANGEROUS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "\ncmd"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_csv_cells_starting_a_formula_get_a_quote_prefix(build: Builder, text: str) -> None:
    # given a customer name and a description that start a formula
    record = invoice(
        customer={"taxId": "1", "name": text},
        items=[item(description=text, sku=text)],
    )

    # when
    built = build([record])

    # then
    assert built.csv_rows("facturas.csv")[0]["cliente_nombre"] == "'" + text
    line = built.csv_rows("facturas_detalle.csv")[0]
    assert (line["descripcion"], line["sku"]) == ("'" + text, "'" + text)


def test_csv_invoice_number_is_neutralised_in_every_file(build: Builder) -> None:
    built = build([invoice("=1+1"), invoice("OK", currency="XYZ"), invoice("@bad", items=[])])
    assert built.csv_rows("facturas.csv")[0]["numero_factura"] == "'=1+1"
    assert built.csv_rows("facturas_detalle.csv")[0]["numero_factura"] == "'=1+1"
    assert [row["referencia"] for row in built.csv_rows("errores.csv")] == ["OK", "'@bad"]


def test_harmless_text_is_left_alone(build: Builder) -> None:
    built = build([invoice(customer={"taxId": "1", "name": "Ana = Beto"})])
    assert built.csv_rows("facturas.csv")[0]["cliente_nombre"] == "Ana = Beto"


def test_xlsx_keeps_formula_text_as_plain_strings(build: Builder, tmp_path: Path) -> None:
    # given
    records = [
        invoice(f"F-{n}", customer={"taxId": "1", "name": text}) for n, text in enumerate(DANGEROUS)
    ]

    # when
    built = build(records)

    # then every cell is a string holding the text as sent, never a formula
    sheet = openpyxl.load_workbook(built.extract("facturas.xlsx", tmp_path))["Facturas"]
    cells = [row[4] for row in sheet.iter_rows(min_row=2)]
    # A carriage return is stored as Excel's escape _x000D_, which Excel (not openpyxl) decodes.
    expected = [text.replace("\r", "_x000D_") for text in DANGEROUS]
    assert [cell.value for cell in cells] == expected
    assert {cell.data_type for cell in cells} == {"s"}
