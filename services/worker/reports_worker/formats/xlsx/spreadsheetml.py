"""A small streaming XLSX writer: sheets as SpreadsheetML rendered from row templates.

Each table sheet streams its rows to a temporary file, deflated by a thread as they come
(:class:`~..zip.spool.DeflatedSpool`), and enters the package as soon as it is full, so
memory stays flat and no sheet is deflated after its last row; free-form sheets
(summaries) are small and kept in memory until the end. Cells are rendered by :mod:`.sheetcells`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from itertools import chain
from pathlib import Path

from zlib_ng import zlib_ng

from ..columns import CellKind, Column
from ..zip.deflate import DEFLATE_LEVEL
from ..zip.spool import DeflatedSpool, deflated, joined_crc, write_deflated
from . import _rows
from . import spreadsheetparts as parts
from .printing import SUMMARY_PRINT, page_header, table_print
from .sheetcells import CELLS, ROW_MARK, RowTemplate, render_row, string_cell, styled_row
from .spreadsheetparts import column_letter
from .workbook import EXCEL_MAX_ROWS, Style, WorkbookEngine, WorkbookWriter

_BATCH_ROWS = 512


class SpreadsheetmlEngine:
    """The workbook engine of this package: :class:`SpreadsheetWorkbook`."""

    def open(self, path: Path, *, row_limit: int, title: str) -> WorkbookWriter:
        """A streaming workbook at ``path``."""
        return SpreadsheetWorkbook(path, row_limit=row_limit, title=title)

    def row_preparer(self, columns: Sequence[Column]) -> Callable[[Sequence[object]], object]:
        """Rows rendered away from the workbook, all but their number (only the table
        knows it): :data:`.sheetcells.ROW_MARK` stands for it."""
        template = RowTemplate(
            [column.kind for column in columns], [column_letter(c) for c in range(len(columns))]
        )
        return lambda values: template.render(ROW_MARK, values)


#: The engine every report uses unless told otherwise (the tests bring xlsxwriter).
SPREADSHEETML = SpreadsheetmlEngine()


def open_workbook(
    path: Path,
    *,
    title: str = "",
    row_limit: int = EXCEL_MAX_ROWS,
    engine: WorkbookEngine = SPREADSHEETML,
) -> WorkbookWriter:
    """A workbook writer for ``path`` with the chosen engine; ``title`` heads every page."""
    if row_limit < 2:
        raise ValueError("a sheet needs room for the header and one row")
    return engine.open(path, row_limit=row_limit, title=title)


class SpreadsheetWorkbook:
    """An XLSX package: sheets in the order added, written as they complete."""

    def __init__(self, path: Path, *, row_limit: int, title: str) -> None:
        self.row_limit = row_limit
        self.header = page_header(title)
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=DEFLATE_LEVEL)
        self._spool_dir = path.parent
        self._sheets: list[parts.SheetEntry] = []
        self._pending: list[SpreadsheetSheet] = []
        self._tables: list[SpreadsheetTable] = []

    def add_sheet(self, title: str) -> parts.SheetEntry:
        """Reserve the next sheet position for ``title``."""
        entry = parts.SheetEntry(title=title, number=len(self._sheets) + 1)
        self._sheets.append(entry)
        return entry

    def sheet(self, title: str) -> SpreadsheetSheet:
        """A free-form sheet (kept in memory until the workbook closes)."""
        sheet = SpreadsheetSheet(self.add_sheet(title), self.header)
        self._pending.append(sheet)
        return sheet

    def table(self, title: str, columns: Sequence[Column]) -> SpreadsheetTable:
        """A table; each of its sheets enters the package when it is full."""
        table = SpreadsheetTable(self, title, columns)
        self._tables.append(table)
        return table

    def write_part(self, name: str, text: str) -> None:
        """Add one small part to the package."""
        self._zip.writestr(name, text)

    def write_sheet_file(
        self, entry: parts.SheetEntry, body: DeflatedSpool, head: str, foot: str
    ) -> None:
        """Add a sheet whose rows were spooled, deflated, to ``body``."""
        opening, closing = head.encode(), foot.encode()
        crc, size = joined_crc(
            [
                (zlib_ng.crc32(opening), len(opening)),
                (body.crc, body.size),
                (zlib_ng.crc32(closing), len(closing)),
            ]
        )
        pieces = chain(
            [deflated(opening, final=False)], body.chunks(), [deflated(closing, final=True)]
        )
        # ZIP64 headers only where needed: a sheet under 1 GiB stays readable everywhere.
        large = size >= zipfile.ZIP64_LIMIT // 2
        write_deflated(self._zip, entry.part_name, pieces, crc=crc, size=size, force_zip64=large)

    def spool_path(self, entry: parts.SheetEntry) -> Path:
        """Where a table sheet spools its rows."""
        return self._spool_dir / f".sheet-{entry.number}.xml"

    def close(self) -> None:
        """Write the pending sheets and the package's parts, then the ZIP directory."""
        try:
            for table in self._tables:
                table.stop()  # a build that failed midway left one spooling
            for sheet in self._pending:
                self.write_part(sheet.entry.part_name, sheet.xml())
            for name, text in parts.package_parts(self._sheets).items():
                self.write_part(name, text)
        finally:
            self._zip.close()


class SpreadsheetSheet:
    """A free-form sheet, rendered in memory (meant for small summaries)."""

    def __init__(self, entry: parts.SheetEntry, header: str) -> None:
        self.entry = entry
        self._printing = parts.print_frame(SUMMARY_PRINT, header)
        self.row = 0
        self._rows: list[str] = []
        self._widths: dict[int, float] = {}

    def set_widths(self, widths: Mapping[int, float]) -> None:
        """Widths of columns (0-based), in characters."""
        self._widths.update(widths)

    def write_cells(self, values: Sequence[object], kinds: Sequence[CellKind]) -> None:
        """One row of values written by kind; None leaves a cell empty."""
        self.row += 1
        letters = [column_letter(col) for col in range(len(values))]
        self._rows.append(render_row(self.row, values, kinds, letters))

    def write_labelled(self, label: str, value: object, kind: CellKind) -> None:
        """One row: a bold label and, beside it, one value."""
        self.row += 1
        label_cell = string_cell(f"A{self.row}", label, f' s="{parts.STYLE_IDS["label"]}"')
        value_cell = CELLS[kind](f"B{self.row}", value) if value is not None else ""
        self._rows.append(f'<row r="{self.row}">{label_cell}{value_cell}</row>')

    def write_styled(self, values: Sequence[str], style: Style) -> None:
        """One row of text in a named style."""
        self.row += 1
        self._rows.append(styled_row(self.row, values, style))

    def skip(self, rows: int = 1) -> None:
        """Leave ``rows`` empty rows."""
        self.row += rows

    def xml(self) -> str:
        """The whole sheet part."""
        head, foot = parts.sheet_frame(
            self.entry, self._widths, self.row, 2, frozen=False, printing=self._printing
        )
        return head + "".join(self._rows) + foot


class SpreadsheetTable:
    """A table over as many sheets as the row limit asks for, each streamed to a spool."""

    def __init__(self, book: SpreadsheetWorkbook, title: str, columns: Sequence[Column]) -> None:
        self._book = book
        self._title = title
        self._columns = columns
        self._template = RowTemplate(
            [column.kind for column in columns], [column_letter(c) for c in range(len(columns))]
        )
        self._letters = [column_letter(col) for col in range(len(columns))]
        self._widths = {col: column.width for col, column in enumerate(columns)}
        self._header = [column.title for column in columns]
        self._printing = parts.print_frame(table_print(self._widths.values()), book.header)
        self.sheets = 0
        self._entry: parts.SheetEntry | None = None
        self._spool: DeflatedSpool | None = None
        self._row = 0
        self._batch: list[bytes] = []

    def _open_sheet(self) -> None:
        self.sheets += 1
        title = self._title if self.sheets == 1 else f"{self._title} {self.sheets}"
        self._entry = self._book.add_sheet(title)
        self._entry.print_titles = True
        self._spool = DeflatedSpool(self._book.spool_path(self._entry), final=False, digest=False)
        self._row = 1
        self._batch = [styled_row(1, self._header, "header").encode()]

    def append(self, values: Sequence[object]) -> None:
        """Add one row."""
        if self._entry is None:
            self._open_sheet()
        elif self._row >= self._book.row_limit:
            self._finish_sheet()
            self._open_sheet()
        self._row += 1
        self._batch.append(self._template.render(self._row, values))
        if len(self._batch) >= _BATCH_ROWS:
            assert self._spool is not None
            self._spool.write(b"".join(self._batch))
            self._batch.clear()

    def append_prepared(self, rows: Sequence[object]) -> None:
        """Add rows rendered without their number (:data:`.sheetcells.ROW_MARK` for it)."""
        rows = rows if isinstance(rows, list) else list(rows)
        limit, done = self._book.row_limit, 0
        while done < len(rows):
            if self._entry is None:
                self._open_sheet()
            elif self._row >= limit:
                self._finish_sheet()
                self._open_sheet()
            assert self._spool is not None
            if self._batch:
                self._spool.write(b"".join(self._batch))
                self._batch.clear()
            take = min(len(rows) - done, limit - self._row)
            # Numbered, joined and encoded in C: row by row in Python, it was a sixth of a
            # split build's serial work.
            self._spool.write(_rows.numbered(rows, done, done + take, self._row + 1))
            self._row += take
            done += take

    def widen(self, widths: Mapping[int, float]) -> None:
        """Columns at least this wide on this sheet and the next (a sheet's widths are
        written when it is finished, after its rows)."""
        for col, width in widths.items():
            self._widths[col] = max(self._widths.get(col, 0), width)

    def _finish_sheet(self) -> None:
        assert self._entry is not None and self._spool is not None
        spool, self._spool = self._spool, None
        spool.write(b"".join(self._batch))
        self._batch.clear()
        spool.close()
        if self._letters:
            self._entry.filter_ref = f"A1:{self._letters[-1]}{self._row}"
        head, foot = parts.sheet_frame(
            self._entry,
            self._widths,
            self._row,
            len(self._columns),
            frozen=True,
            printing=self._printing,
        )
        self._book.write_sheet_file(self._entry, spool, head, foot)
        spool.path.unlink()

    def stop(self) -> None:
        """Stop spooling rows (a sheet not finished stays out of the package)."""
        if self._spool is not None:
            spool, self._spool = self._spool, None
            with suppress(Exception):  # the build's own error is the one to report
                spool.close()
            spool.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Finish the last sheet (a table without rows still gets its header)."""
        if self._entry is None:
            self._open_sheet()
        self._finish_sheet()
