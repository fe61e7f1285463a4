"""The fast workbook writer reads back exactly like xlsxwriter's (the reference engine)."""

from __future__ import annotations

import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from reports_worker.formats.columns import CellKind, Column
from reports_worker.formats.xlsx import _rows
from reports_worker.formats.xlsx.sheetcells import RowTemplate, render_row
from reports_worker.formats.xlsx.spreadsheetml import SPREADSHEETML, open_workbook
from reports_worker.formats.xlsx.spreadsheetparts import column_letter
from reports_worker.formats.xlsx.workbook import WorkbookEngine
from reports_worker.reporttypes.facturacion import FacturacionMasiva
from reports_worker.reporttypes.tabular import Tabular
from tests.support.builds import Builder
from tests.support.data import invoice, item
from tests.support.xlsx_oracle import XLSXWRITER

TEXTS = [
    "plain",
    "",
    " leading",
    "trailing ",
    "tab\tinside",
    "line\nbreak",
    "cr\rhere",
    "nul\x00and\x1f",
    "_x0041_ literal escape",
    "a & b < c > d",
    "<r><t>rich</t></r>",
    "ñandú – “comillas” 😀",
    "=1+1",
    "x" * 40_000,
    "\ufffe\uffff",
]


def _read(path: Path) -> dict[str, Any]:
    book = openpyxl.load_workbook(path)
    return {
        name: {
            "cells": [
                [(cell.value, cell.data_type, cell.number_format) for cell in row]
                for row in book[name].iter_rows()
            ],
            "freeze": book[name].freeze_panes,
            "filter": book[name].auto_filter.ref,
            "widths": _widths(book[name]),
            "print": _printing(book[name]),
        }
        for name in book.sheetnames
    }


def _printing(sheet: Any) -> dict[str, object]:
    # What a printed page shows: paper, orientation, scaling, repeated rows, header, footer.
    setup, options, margins = sheet.page_setup, sheet.print_options, sheet.page_margins
    return {
        "paper": setup.paperSize,
        "orientation": setup.orientation,
        "fit": (sheet.sheet_properties.pageSetUpPr.fitToPage, setup.fitToWidth, setup.fitToHeight)
        if sheet.sheet_properties.pageSetUpPr
        else None,
        "titles": sheet.print_title_rows,
        "options": (options.gridLines, options.horizontalCentered),
        "margins": (margins.left, margins.right, margins.top, margins.bottom),
        "margins_hf": (margins.header, margins.footer),
        "header": _parts(sheet.oddHeader),
        "footer": _parts(sheet.oddFooter),
    }


def _parts(header: Any) -> tuple[object, ...]:
    return tuple((part.text, part.font) for part in (header.left, header.center, header.right))


def _widths(sheet: Any) -> dict[str, float]:
    # xlsxwriter merges neighbours of equal width into one <col min max>: spread them out.
    return {
        column_letter(col - 1): round(dim.width, 4)
        for dim in sheet.column_dimensions.values()
        if dim.customWidth
        for col in range(dim.min, dim.max + 1)
    }


def _write(
    path: Path, engine: WorkbookEngine, rows: list[list[object]], kinds: list[CellKind]
) -> None:
    book = open_workbook(path, title="Prueba & cía", row_limit=4, engine=engine)
    summary = book.sheet("Resumen")
    summary.set_widths({0: 30, 1: 12.5})
    summary.write_styled(["Título"], "title")
    summary.skip()
    summary.write_labelled("Cuándo", datetime(2026, 1, 15, 10, 5, 30, 250000), "datetime")
    summary.write_labelled("Vacío", None, "integer")
    summary.write_styled(["A", "B"], "header")
    summary.write_cells([Decimal("0.18"), 7, date(2024, 2, 29)], ["percent", "integer", "date"])
    columns = [Column(f"c{n}", f"Columna {n}", kind, 10 + n) for n, kind in enumerate(kinds)]
    table = book.table("Datos", columns)
    for row in rows:
        table.append(row)
    table.close()
    book.close()


def test_both_engines_read_back_identically(tmp_path: Path) -> None:
    # given rows mixing every kind of cell, over several sheets
    rng = random.Random(4)
    kinds: list[CellKind] = ["text", "amount", "date", "integer", "decimal", "value", "datetime"]
    rows: list[list[object]] = []
    for n in range(11):
        rows.append(
            [
                rng.choice([*TEXTS, None]),
                rng.choice([Decimal("1234.50"), Decimal("0.00"), Decimal("-3.10"), None]),
                rng.choice([date(2024, 1, 15), date(1900, 3, 1), date(9999, 12, 31), None]),
                rng.choice([0, 7, -12, 10**15 - 1, None]),
                rng.choice([Decimal("1E+2"), Decimal("0.000001"), Decimal("2.675"), 3]),
                rng.choice([True, False, "texto", 12, Decimal("1.5"), 10**20, Decimal("1E+400")]),
                datetime(2024, 1, 15, 13, 45, n),
            ]
        )
    # and dates a spreadsheet cannot show (before 1900-03-01), in both date kinds
    early: list[tuple[date, datetime | None]] = [(date(1, 1, 1), datetime(1, 1, 1, 12))]
    early += [(date(1899, 12, 31), datetime(1900, 1, 1, 12))]
    early += [(date(1900, 1, 1), datetime(1900, 2, 28, 12)), (date(1900, 2, 28), None)]
    for day, moment in early:
        rows.append(["fecha", None, day, None, 1, None, moment])

    # when both engines write them
    _write(tmp_path / "ref.xlsx", XLSXWRITER, rows, kinds)
    _write(tmp_path / "fast.xlsx", SPREADSHEETML, rows, kinds)

    # then openpyxl reads back the same sheets, cells, types, formats, panes and filters
    assert _read(tmp_path / "fast.xlsx") == _read(tmp_path / "ref.xlsx")


@pytest.mark.parametrize("engine", [XLSXWRITER, SPREADSHEETML], ids=["xlsxwriter", "spreadsheetml"])
def test_facturacion_workbooks_match_between_engines(
    build: Builder, tmp_path: Path, engine: WorkbookEngine
) -> None:
    # given invoices with awkward text and empty optional fields, over four sheets
    records = [
        invoice(
            f"F-{n}",
            customer={"taxId": str(n), "name": text, **({"email": text} if n % 2 else {})},
            items=[item(quantity=n + 1, unitPrice=2.675, taxRate=0.18, description=text)],
        )
        for n, text in enumerate(TEXTS)
    ]
    # and, late, an amount wider than its column: the sheets from there on are widened
    records.append(invoice("F-wide", items=[item(quantity=3, unitPrice=123_456_789_012.5)]))
    reference = build(records, FacturacionMasiva(sheet_row_limit=6, workbook_engine=XLSXWRITER))
    built = build(records, FacturacionMasiva(sheet_row_limit=6, workbook_engine=engine))

    # then the workbooks read back the same
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    expected = _read(reference.extract("facturas.xlsx", tmp_path / "a"))
    assert _read(built.extract("facturas.xlsx", tmp_path / "b")) == expected


def test_tabular_workbooks_match_between_engines(build: Builder, tmp_path: Path) -> None:
    records = [
        {"t": text, "n": n, "ok": n % 2 == 0, "x": {"y": n / 8, "z": None}}
        for n, text in enumerate(TEXTS)
    ]
    reference = build(records, Tabular(sheet_row_limit=5, workbook_engine=XLSXWRITER))
    built = build(records, Tabular(sheet_row_limit=5))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    expected = _read(reference.extract("datos.xlsx", tmp_path / "a"))
    assert _read(built.extract("datos.xlsx", tmp_path / "b")) == expected


def test_row_template_renders_like_the_generic_path() -> None:
    # given the invoice sheet's kinds and rows that take the template and rows that do not
    kinds: list[CellKind] = ["text", "date", "text", "integer", "amount"]
    letters = [column_letter(n) for n in range(len(kinds))]
    template = RowTemplate(kinds, letters)
    rows: list[list[object]] = [
        ["F-1", date(2024, 1, 2), "correo@x.pe", 3, Decimal("10.00")],
        ["F-2", date(2024, 1, 2), None, 3, Decimal("10.00")],
        [None, None, None, None, None],
        ["a & b", date(2024, 1, 2), " x", 3, Decimal("1E+1")],
        ["", date(1900, 1, 1), "_x0001_", True, Decimal("0.005")],
        ["ok", datetime(2024, 1, 2, 3, 4), "ok", 2, 3],
        ["F-3", date(1899, 12, 31), "ok", 3, Decimal("10.00")],
        ["F-3", date(1899, 12, 31), "ok", 3, Decimal("10.00")],
        ["F-4", date(1900, 2, 28), "ok", 3, Decimal("10.00")],
    ]

    # when / then
    for number, row in enumerate(rows, start=2):
        assert template.render(number, row) == render_row(number, row, kinds, letters).encode()


#: Texts the template takes and texts it must leave to the generic path.
_TEXTS = [
    "F-1", "ñandú", "a_b", "x" * 40, "a\x7fb", "", " x", "x ", "\x7f", "a\x7f", "\x7fa",
    "a \x7fb", "_x0041_", "a & b", "<b>", "tab\t", "\n", "\ufffe", "\uffff", "ok_x", "🎉",
    "x" * 32_767, "x" * 32_768, "€ 5", "日本 ñ 🎉", "\x80\xff", "\u07ff\u0800\uffef",
]  # fmt: skip
_VALUES: dict[CellKind, list[object]] = {
    "text": [*_TEXTS, 7, None],
    "date": [
        date(2024, 1, 2),
        date(1900, 2, 28),
        date(1900, 3, 1),
        date(1, 1, 1),
        date(9999, 12, 31),
        datetime(2024, 1, 2, 3, 4),
        "2024-01-02",
        None,
    ],
    "integer": [0, 3, -4, 10**15 - 1, 10**15, -(10**15), True, Decimal("3"), 2.5, None],
    "amount": [
        Decimal("10.00"),
        Decimal("0.005"),
        Decimal("1E+1"),
        Decimal("-0"),
        3,
        10**16,
        True,
        1.5,
        "10",
        Decimal("1E+400"),
        None,
    ],
}


@pytest.mark.parametrize("seed", range(4))
def test_row_template_renders_random_rows_like_the_generic_path(seed: int) -> None:
    # given the invoice sheet's kinds and random rows of values each kind may meet
    rng = random.Random(seed)
    kinds: list[CellKind] = ["text", "date", "text", "text", "integer", "amount", "amount"]
    letters = [column_letter(n) for n in range(len(kinds))]
    template = RowTemplate(kinds, letters)

    for number in range(2, 3_002):
        row = [rng.choice(_VALUES[kind]) for kind in kinds]
        # when / then
        expected = render_row(number, row, kinds, letters).encode()
        assert template.render(number, row) == expected, row


@pytest.mark.parametrize("text", ["x" * 5_000, "ñ" * 3_000, "🎉" * 8_000])
def test_a_row_longer_than_its_first_buffer_renders_like_the_generic_path(text: str) -> None:
    # given a row whose text alone is past the 2 kB C starts a row in (on its stack)
    kinds: list[CellKind] = ["text", "integer"]
    letters = [column_letter(n) for n in range(len(kinds))]
    row = [text, 7]
    # when / then: what was written before it moved to the heap is kept
    expected = render_row(5, row, kinds, letters).encode()
    assert RowTemplate(kinds, letters).render(5, row) == expected


def test_a_rows_missing_values_name_its_template() -> None:
    assert _rows.missing((1, None, "", None, 0, False)) == (1, 3)
    assert _rows.missing([]) == ()
    assert _rows.missing(["a", Decimal(0)]) == ()


@pytest.mark.parametrize("batches", [[9], [1, 1, 1, 1, 1, 1, 1, 1, 1], [2, 5, 2], [3, 0, 6]])
def test_prepared_rows_in_batches_write_the_same_sheets_as_rows_one_by_one(
    tmp_path: Path, batches: list[int]
) -> None:
    # Given nine rows (one with a text past ASCII), in batches that cross sheets of 4 rows
    kinds: list[CellKind] = ["text", "integer", "amount", "date"]
    rows: list[list[object]] = [
        [f"fila {n} ñandú", n, Decimal(n) / 4, date(2026, 1, 1 + n)] for n in range(9)
    ]
    columns = [Column(f"c{n}", f"Columna {n}", kind, 10) for n, kind in enumerate(kinds)]
    prepare = SPREADSHEETML.row_preparer(columns)

    # When one workbook takes them prepared, batch by batch, and another one by one
    def write(path: Path, prepared: bool) -> None:
        book = open_workbook(path, row_limit=4)
        table = book.table("Datos", columns)
        if prepared:
            start = 0
            for size in batches:
                table.append_prepared([prepare(row) for row in rows[start : start + size]])
                start += size
        else:
            for row in rows:
                table.append(row)
        table.close()
        book.close()

    write(tmp_path / "prepared.xlsx", prepared=True)
    write(tmp_path / "one.xlsx", prepared=False)

    # Then both read back the same: rows numbered on, a fresh header on each sheet
    read = _read(tmp_path / "prepared.xlsx")
    assert read == _read(tmp_path / "one.xlsx")
    assert [len(sheet["cells"]) for sheet in read.values()] == [4, 4, 4]
    assert read["Datos 3"]["cells"][-1][0][0] == "fila 8 ñandú"


def test_numbered_rows_put_each_rows_number_in_its_marks() -> None:
    rows: list[object] = ["<row r=\x00><c r=A\x00>ñ</c></row>".encode(), b"x", b"\x00\x00"]
    assert _rows.numbered(rows, 0, 3, 9) == "<row r=9><c r=A9>ñ</c></row>x1111".encode()
    assert _rows.numbered(rows, 2, 3, 0) == b"00"
    assert _rows.numbered(rows, 1, 1, 5) == b""
    with pytest.raises(ValueError, match="out of range"):
        _rows.numbered(rows, 0, 4, 1)
    with pytest.raises(TypeError, match="must be bytes"):
        _rows.numbered(["str"], 0, 1, 1)


def test_a_text_no_json_decoder_gives_fails_as_on_the_generic_path() -> None:
    # given a lone surrogate, which msgspec never decodes but Python code could make
    kinds: list[CellKind] = ["text", "integer"]
    template = RowTemplate(kinds, ["A", "B"])

    # when / then the row is the generic renderer's, and cannot be written as UTF-8
    with pytest.raises(UnicodeEncodeError):
        render_row(2, ["a\ud800", 1], kinds, ["A", "B"]).encode()
    with pytest.raises(UnicodeEncodeError):
        template.render(2, ["a\ud800", 1])


def test_column_letters() -> None:
    assert [column_letter(n) for n in (0, 25, 26, 701, 702, 16383)] == [
        "A",
        "Z",
        "AA",
        "ZZ",
        "AAA",
        "XFD",
    ]
