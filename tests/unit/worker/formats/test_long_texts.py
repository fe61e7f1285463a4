"""A text longer than an Excel cell is cut in the workbook, and the cut is said.

Excel holds 32,767 characters a cell; the CSV keeps the whole text. The summary sheet
and ``manifest.json`` (``notes``) say how many texts the workbook cut, as they say how
many columns a too-wide table left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from reports_worker.formats.xlsx.spreadsheetml import SPREADSHEETML
from reports_worker.formats.xlsx.workbook import WorkbookEngine
from reports_worker.reporttypes.facturacion import FacturacionMasiva
from tests.support.builds import Builder
from tests.support.data import invoice
from tests.support.xlsx_oracle import XLSXWRITER

EXCEL_MAX_TEXT = 32_767
LONG = "ñ" * 39_999 + "z"


def _facts(book: openpyxl.Workbook) -> dict[object, object]:
    return {row[0]: row[1] for row in book["Resumen"].iter_rows(values_only=True) if row[0]}


@pytest.mark.parametrize("engine", [SPREADSHEETML, XLSXWRITER], ids=["spreadsheetml", "xlsxwriter"])
def test_an_invoice_text_past_the_cell_limit_is_cut_and_said(
    build: Builder, tmp_path: Path, engine: WorkbookEngine
) -> None:
    # given a customer name of 40,000 characters, and one of exactly the limit
    records = [
        invoice("F-1", customer={"taxId": "1", "name": LONG}),
        invoice("F-2", customer={"taxId": "2", "name": "x" * EXCEL_MAX_TEXT}),
    ]

    # when
    built = build(records, FacturacionMasiva(workbook_engine=engine))

    # then the workbook holds its first 32,767 characters, the CSV all of them
    book = openpyxl.load_workbook(built.extract("facturas.xlsx", tmp_path))
    assert book["Facturas"]["E2"].value == LONG[:EXCEL_MAX_TEXT]
    assert book["Facturas"]["E3"].value == "x" * EXCEL_MAX_TEXT
    assert built.csv_rows("facturas.csv")[0]["cliente_nombre"] == LONG
    # and the summary sheet and the manifest say one text was cut
    note = (
        "facturas.xlsx corta 1 texto de más de 32.767 caracteres (el máximo de una celda "
        "de Excel); facturas.csv lo tiene completo."
    )
    assert _facts(book)["Aviso"] == note
    assert json.loads(built.text("manifest.json"))["notes"] == [note]


def test_tabular_texts_past_the_cell_limit_are_counted(build: Builder, tmp_path: Path) -> None:
    # given two long texts (one a list kept as JSON text) and a short one
    records = [{"a": LONG, "b": "corto"}, {"b": [LONG]}, {"a": "x" * EXCEL_MAX_TEXT}]

    # when
    built = build(records, report="Tabular")

    # then both are cut in the workbook, whole in the CSV, and the cut is said
    book = openpyxl.load_workbook(built.extract("datos.xlsx", tmp_path))
    assert book["Datos"]["A2"].value == LONG[:EXCEL_MAX_TEXT]
    assert built.csv("datos.csv")[1][0] == LONG
    note = (
        "datos.xlsx corta 2 textos de más de 32.767 caracteres (el máximo de una celda "
        "de Excel); datos.csv los tiene completos."
    )
    assert _facts(book)["Aviso"] == note
    assert json.loads(built.text("manifest.json"))["notes"] == [note]


def test_short_texts_bring_no_notice(build: Builder) -> None:
    built = build([invoice("F-1")])
    assert "notes" not in json.loads(built.text("manifest.json"))
