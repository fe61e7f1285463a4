"""The oracle of the workbook tests: workbooks written by xlsxwriter (constant-memory mode).

The worker writes its workbooks with its own engine (``spreadsheetml``); this engine,
behind the same interface, is what the differential tests read it back against. In
constant-memory mode each sheet streams its rows, in order, to its own temporary file,
so a sheet added first (the summary) can be filled last, once the totals are known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from xml.sax.saxutils import escape

import xlsxwriter

from reports_worker.formats.columns import CellKind, Column
from reports_worker.formats.xlsx.printing import (
    MARGINS,
    PAGE_FOOTER,
    PAPER_A4,
    SUMMARY_PRINT,
    PrintSetup,
    page_header,
    table_print,
)
from reports_worker.formats.xlsx.workbook import (
    EXCEL_MAX_TEXT,
    Style,
    WorkbookWriter,
    date_text,
    number_text,
)

_FORMATS: dict[str, dict[str, Any]] = {
    "header": {"bold": True, "bg_color": "#D9E1F2", "bottom": 1, "text_wrap": True},
    "title": {"bold": True, "font_size": 14},
    "label": {"bold": True},
    "amount": {"num_format": "#,##0.00"},
    "integer": {"num_format": "#,##0"},
    "percent": {"num_format": "0.00%"},
    "date": {"num_format": "dd/mm/yyyy"},
    "datetime": {"num_format": "dd/mm/yyyy hh:mm:ss"},
}


def safe_text(value: object) -> str:
    """``value`` as text xlsxwriter writes as plain text, whatever it contains.

    xlsxwriter's constant-memory mode copies a string that starts with ``<r>`` and ends
    with ``</r>`` into the XML unescaped (as rich text); such text is escaped here and
    wrapped as rich text, so it still reads back exactly as given.
    """
    text = str(value)[:EXCEL_MAX_TEXT]
    if text.startswith("<r>") and text.endswith("</r>"):
        return f'<r><t xml:space="preserve">{escape(text)}</t></r>'
    return text


def set_printing(sheet: Any, setup: PrintSetup, header: str) -> None:
    """A sheet's print settings, through xlsxwriter's own calls."""
    sheet.set_paper(PAPER_A4)
    if setup.landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    if setup.fit_to_width:
        sheet.fit_to_pages(1, 0)
    if setup.repeat_header:
        sheet.repeat_rows(0)
    if setup.gridlines:
        sheet.hide_gridlines(0)
    if setup.centered:
        sheet.center_horizontally()
    left, right, top, bottom, head, foot = MARGINS
    sheet.set_margins(left=left, right=right, top=top, bottom=bottom)
    sheet.set_header(header, {"margin": head})
    sheet.set_footer(PAGE_FOOTER, {"margin": foot})


class XlsxwriterWorkbook:
    """One XLSX file of tables split at the row limit, plus free-form sheets."""

    def __init__(self, path: Path, *, row_limit: int, title: str) -> None:
        self._book = xlsxwriter.Workbook(
            str(path),
            {"constant_memory": True, "tmpdir": str(path.parent), "remove_timezone": True},
        )
        self.row_limit = row_limit
        self.header = page_header(title)
        self.formats = {name: self._book.add_format(spec) for name, spec in _FORMATS.items()}

    def sheet(self, title: str) -> XlsxwriterSheet:
        """A free-form sheet, shown first if added first, written whenever."""
        sheet = self._book.add_worksheet(title)
        set_printing(sheet, SUMMARY_PRINT, self.header)
        return XlsxwriterSheet(self, sheet)

    def table(self, title: str, columns: Sequence[Column]) -> XlsxwriterTable:
        """A table starting on sheet ``title``, continued on ``title 2``... at the limit."""
        return XlsxwriterTable(self, title, columns)

    def add_worksheet(self, title: str) -> Any:
        """A raw xlsxwriter worksheet (for the writers of this module)."""
        return self._book.add_worksheet(title)

    def close(self) -> None:
        """Write the XLSX file."""
        self._book.close()


class XlsxwriterSheet:
    """Writes cells row by row, typed by kind; text always as a string, never a formula."""

    def __init__(self, book: XlsxwriterWorkbook, sheet: Any) -> None:
        self._book = book
        self.sheet = sheet
        self.row = 0

    def write_cells(self, values: Sequence[object], kinds: Sequence[CellKind]) -> None:
        """Write one row of ``values``; None leaves a cell empty."""
        sheet, row, formats = self.sheet, self.row, self._book.formats
        for col, (value, kind) in enumerate(zip(values, kinds, strict=True)):
            if value is None:
                continue
            if kind == "text" or isinstance(value, str):
                sheet.write_string(row, col, safe_text(value))
            elif isinstance(value, bool):
                sheet.write_boolean(row, col, value)
            elif (text := number_text(value)) is not None:
                # Beyond what a double holds exactly or at all: kept exact, as text.
                sheet.write_string(row, col, text)
            elif kind in ("date", "datetime") and isinstance(value, date):
                if (text := date_text(value)) is not None:
                    sheet.write_string(row, col, text)  # no date a spreadsheet shows right
                else:
                    sheet.write_datetime(row, col, value, formats[kind])
            elif isinstance(value, Decimal | int | float):
                sheet.write_number(row, col, float(value), formats.get(kind))
        self.row += 1

    def write_labelled(self, label: str, value: object, kind: CellKind) -> None:
        """Write a bold label and, beside it, one value."""
        self.sheet.write_string(self.row, 0, label, self._book.formats["label"])
        self.write_cells([None, value], ["text", kind])

    def set_widths(self, widths: Mapping[int, float]) -> None:
        """Widths of columns (0-based), in characters."""
        for col, width in widths.items():
            self.sheet.set_column(col, col, width)

    def write_styled(self, values: Sequence[str], style: Style) -> None:
        """Write one row of text in a named style (``title``, ``header``, ``label``)."""
        for col, text in enumerate(values):
            self.sheet.write_string(self.row, col, safe_text(text), self._book.formats[style])
        self.row += 1

    def skip(self, rows: int = 1) -> None:
        """Leave ``rows`` empty rows."""
        self.row += rows


class XlsxwriterTable:
    """A table of rows; a new sheet with the header again when a sheet is full."""

    def __init__(self, book: XlsxwriterWorkbook, title: str, columns: Sequence[Column]) -> None:
        self._book = book
        self._title = title
        self._columns = columns
        self._kinds = [column.kind for column in columns]
        self._widths = {col: column.width for col, column in enumerate(columns)}
        self.sheets = 0
        self._writer = self._new_sheet()

    def _new_sheet(self) -> XlsxwriterSheet:
        self.sheets += 1
        title = self._title if self.sheets == 1 else f"{self._title} {self.sheets}"
        writer = XlsxwriterSheet(self._book, self._book.add_worksheet(title))
        for col, width in self._widths.items():
            writer.sheet.set_column(col, col, width)
        writer.sheet.freeze_panes(1, 0)
        widths = [column.width for column in self._columns]
        set_printing(writer.sheet, table_print(widths), self._book.header)
        writer.write_styled([column.title for column in self._columns], "header")
        return writer

    def append(self, values: Sequence[object]) -> None:
        """Add one row."""
        if self._writer.row >= self._book.row_limit:
            self._close_sheet()
            self._writer = self._new_sheet()
        self._writer.write_cells(values, self._kinds)

    def append_prepared(self, rows: Sequence[object]) -> None:
        """Add rows prepared by :meth:`XlsxwriterEngine.row_preparer` (their values)."""
        for values in rows:
            # row_preparer made each one a tuple of the row's values
            self.append(cast("tuple[object, ...]", values))

    def widen(self, widths: Mapping[int, float]) -> None:
        """Columns at least this wide on the current sheet and the next."""
        for col, width in widths.items():
            self._widths[col] = max(self._widths.get(col, 0), width)
            self._writer.sheet.set_column(col, col, self._widths[col])

    def _close_sheet(self) -> None:
        if self._columns:
            self._writer.sheet.autofilter(0, 0, self._writer.row - 1, len(self._columns) - 1)

    def close(self) -> None:
        """Finish the last sheet (its filter covers every row written)."""
        self._close_sheet()


class XlsxwriterEngine:
    """The reference engine: rows go to xlsxwriter as values, prepared as tuples."""

    def open(self, path: Path, *, row_limit: int, title: str) -> WorkbookWriter:
        """An xlsxwriter workbook at ``path``."""
        return XlsxwriterWorkbook(path, row_limit=row_limit, title=title)

    def row_preparer(self, columns: Sequence[Column]) -> Callable[[Sequence[object]], object]:
        """xlsxwriter takes the values themselves."""
        return tuple


XLSXWRITER = XlsxwriterEngine()
