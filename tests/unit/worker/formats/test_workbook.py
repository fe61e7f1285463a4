"""facturas.xlsx read back with openpyxl: sheets, headers, real numbers and dates, split."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from reports_worker.reporttypes.facturacion import FacturacionMasiva
from tests.support.builds import Builder
from tests.support.data import invoice, item


@pytest.fixture
def workbook(build: Builder, tmp_path: Path) -> openpyxl.Workbook:
    records = [
        invoice(
            "F-1", issueDate="2024-03-01", items=[item(quantity=2, unitPrice=1234.5, taxRate=0.18)]
        ),
        invoice("F-2", currency="USD", issueDate="2024-01-31"),
        invoice("BAD", currency="ZZZ"),
    ]
    built = build(records)
    return openpyxl.load_workbook(built.extract("facturas.xlsx", tmp_path))


def test_summary_sheet_comes_first(workbook: openpyxl.Workbook) -> None:
    assert workbook.sheetnames == ["Resumen", "Facturas"]


def test_invoice_sheet_has_spanish_headers_frozen_and_filtered(workbook: openpyxl.Workbook) -> None:
    sheet = workbook["Facturas"]
    assert [cell.value for cell in sheet[1]] == [
        "N° de factura",
        "Fecha de emisión",
        "Moneda",
        "RUC/DNI del cliente",
        "Cliente",
        "Correo del cliente",
        "Ítems",
        "Subtotal",
        "Impuesto",
        "Total",
    ]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:J3"


def test_invoice_rows_hold_real_numbers_and_dates(workbook: openpyxl.Workbook) -> None:
    sheet = workbook["Facturas"]
    row = [cell.value for cell in sheet[2]]
    assert row == [
        "F-1",
        datetime(2024, 3, 1),
        "PEN",
        "20123456789",
        "Comercial Andina S.A.C.",
        "pagos@andina.pe",
        1,
        2469.0,
        444.42,
        2913.42,
    ]
    assert sheet["B2"].number_format == "dd/mm/yyyy"
    assert sheet["H2"].number_format == "#,##0.00"
    assert sheet["A2"].data_type == "s"


def test_summary_sheet_holds_counts_totals_and_date_range(workbook: openpyxl.Workbook) -> None:
    sheet = workbook["Resumen"]
    cells = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True) if row[0]}
    assert cells["Facturas procesadas"][0] == 2
    assert cells["Registros rechazados (ver errores.csv)"][0] == 1
    assert cells["Primera fecha de emisión"][0] == datetime(2024, 1, 31)
    assert cells["Última fecha de emisión"][0] == datetime(2024, 3, 1)
    assert cells["Generado (UTC)"][0] == datetime(2026, 1, 15, 10, 5, 30)
    assert cells["Parámetros"][0] == "csvDialect=rfc4180"


def test_summary_sheet_has_totals_per_currency(workbook: openpyxl.Workbook) -> None:
    rows = list(workbook["Resumen"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == "Totales por moneda")
    assert rows[start + 1][:5] == ("Moneda", "Facturas", "Subtotal", "Impuesto", "Total")
    assert rows[start + 2][:5] == ("PEN", 1, 2469.0, 444.42, 2913.42)
    assert rows[start + 3][:5] == ("USD", 1, 37.5, 6.75, 44.25)


def test_summary_sheet_has_totals_per_tax_rate(workbook: openpyxl.Workbook) -> None:
    rows = list(workbook["Resumen"].iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if row[0] == "Totales por tasa de impuesto")
    assert rows[start + 1][:5] == ("Moneda", "Tasa", "Líneas", "Base imponible", "Impuesto")
    assert rows[start + 2][:5] == ("PEN", 0.18, 1, 2469.0, 444.42)
    assert rows[start + 3][:5] == ("USD", 0.18, 1, 37.5, 6.75)


def test_invoices_continue_on_new_sheets_at_the_row_limit(build: Builder, tmp_path: Path) -> None:
    # given 5 invoices and room for a header and 2 rows per sheet
    records = [invoice(f"F-{n}") for n in range(1, 6)]

    # when
    built = build(records, FacturacionMasiva(sheet_row_limit=3))

    # then
    book = openpyxl.load_workbook(built.extract("facturas.xlsx", tmp_path))
    assert book.sheetnames == ["Resumen", "Facturas", "Facturas 2", "Facturas 3"]
    pages = [
        [row[0] for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames[1:]
    ]
    assert pages == [
        ["N° de factura", "F-1", "F-2"],
        ["N° de factura", "F-3", "F-4"],
        ["N° de factura", "F-5"],
    ]
    assert [book[name].auto_filter.ref for name in book.sheetnames[1:]] == [
        "A1:J3",
        "A1:J3",
        "A1:J2",
    ]
    assert all(book[name].freeze_panes == "A2" for name in book.sheetnames[1:])


def test_text_that_looks_like_xml_reads_back_unchanged(build: Builder, tmp_path: Path) -> None:
    # given names with XML and xlsxwriter's rich-text marker, and a control character
    names = ["<r><t>hola</t></r>", "a & b <c>", "tab\there"]
    records = [
        invoice(f"F-{n}", customer={"taxId": "1", "name": name}) for n, name in enumerate(names)
    ]

    # when
    built = build(records)

    # then
    book = openpyxl.load_workbook(built.extract("facturas.xlsx", tmp_path))
    assert [row[4] for row in book["Facturas"].iter_rows(min_row=2, values_only=True)] == names


def test_dates_are_real_dates(build: Builder, tmp_path: Path) -> None:
    built = build([invoice(issueDate="1999-12-31")])
    book = openpyxl.load_workbook(built.extract("facturas.xlsx", tmp_path))
    assert book["Facturas"]["B2"].value.date() == date(1999, 12, 31)


def test_dates_a_spreadsheet_cannot_show_are_iso_text(build: Builder, tmp_path: Path) -> None:
    # given dates before Excel's first day, and the days around its 1900-02-29 that never was
    dates = ["0001-01-01", "1000-06-01", "1899-12-31", "1900-01-01", "1900-02-28", "1900-03-01"]
    records = [invoice(f"F-{n}", issueDate=issued) for n, issued in enumerate(dates)]

    # when
    built = build(records)

    # then those before 1900-03-01 (read one day early by LibreOffice, or no date at all)
    # are their ISO text, in the invoice sheet and the summary; 1900-03-01 is a real date
    book = openpyxl.load_workbook(built.extract("facturas.xlsx", tmp_path))
    cells = [row[1] for row in book["Facturas"].iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == [*dates[:5], datetime(1900, 3, 1)]
    assert [cell.data_type for cell in cells] == ["s"] * 5 + ["d"]
    summary = {row[0]: row[1] for row in book["Resumen"].iter_rows(values_only=True) if row[0]}
    assert summary["Primera fecha de emisión"] == "0001-01-01"
    assert summary["Última fecha de emisión"] == datetime(1900, 3, 1)
