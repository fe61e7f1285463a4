"""The XLSX workbook a report writes: its interface, its limits, and what an engine is.

The one engine in production is :mod:`.spreadsheetml`, this package's own streaming
writer; the tests hold it against xlsxwriter, an engine of their own behind the same
interface.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol

from ..columns import CellKind, Column

#: Excel's rows per sheet, the header included.
EXCEL_MAX_ROWS = 1_048_576
#: Excel's columns per sheet.
EXCEL_MAX_COLUMNS = 16_384
#: Excel's characters per cell; longer text is cut there (and the cut is noted).
EXCEL_MAX_TEXT = 32_767
#: The largest integer Excel stores exactly (it keeps 15 significant digits).
EXCEL_MAX_EXACT_INT = 10**15 - 1

#: The first day whose serial every spreadsheet reads as the same day. Excel counts a
#: 1900-02-29 that never was, so LibreOffice reads the serials of 1900-01-01..1900-02-28
#: one day early; serials before 1900-01-01 are zero or negative, and no date at all.
FIRST_SERIAL_DATE = date(1900, 3, 1)
_FIRST_SERIAL_DATETIME = datetime(1900, 3, 1)

#: Named cell styles beyond the number formats of each kind.
Style = Literal["header", "title", "label"]


class SheetWriter(Protocol):
    """A free-form sheet written top to bottom."""

    def set_widths(self, widths: Mapping[int, float]) -> None:
        """Widths of columns (0-based), in characters."""

    def write_cells(self, values: Sequence[object], kinds: Sequence[CellKind]) -> None:
        """One row of values written by kind; None leaves a cell empty."""

    def write_labelled(self, label: str, value: object, kind: CellKind) -> None:
        """One row: a bold label and, beside it, one value."""

    def write_styled(self, values: Sequence[str], style: Style) -> None:
        """One row of text in a named style."""

    def skip(self, rows: int = 1) -> None:
        """Leave ``rows`` empty rows."""


class TableWriter(Protocol):
    """A table of rows under a frozen, filtered header; a new sheet at the row limit."""

    @property
    def sheets(self) -> int:
        """How many sheets the table has taken so far."""

    def append(self, values: Sequence[object]) -> None:
        """Add one row."""

    def append_prepared(self, rows: Sequence[object]) -> None:
        """Add rows made by the engine's :meth:`~WorkbookEngine.row_preparer` for them."""

    def widen(self, widths: Mapping[int, float]) -> None:
        """Columns (0-based) at least this wide, in characters, on the sheets not yet
        finished: call it before appending rows that need it."""

    def close(self) -> None:
        """Finish the last sheet."""


class WorkbookWriter(Protocol):
    """One XLSX file; sheets appear in the order they are added, whenever filled."""

    def sheet(self, title: str) -> SheetWriter:
        """A free-form sheet."""

    def table(self, title: str, columns: Sequence[Column]) -> TableWriter:
        """A table starting on sheet ``title``, continued on ``title 2``... at the limit."""

    def close(self) -> None:
        """Write the file."""


class WorkbookEngine(Protocol):
    """What writes workbooks: opens one, and prepares table rows away from it."""

    def open(self, path: Path, *, row_limit: int, title: str) -> WorkbookWriter:
        """A workbook writer for ``path``, its tables split at ``row_limit`` rows, its
        pages headed by ``title`` (see :mod:`.printing`)."""

    def row_preparer(self, columns: Sequence[Column]) -> Callable[[Sequence[object]], object]:
        """How a table's rows are prepared in a batch of records, for ``append_prepared``."""


_DOUBLE_LIMIT = 10**300


def number_text(value: object) -> str | None:
    """Text for a number a spreadsheet cannot hold as a number without harm, else None.

    Integers past 15 digits (ids, mostly) would lose digits; decimals beyond a double's
    range would become infinite.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if abs(value) > EXCEL_MAX_EXACT_INT else None
    if isinstance(value, Decimal) and not (value.is_finite() and abs(value) < _DOUBLE_LIMIT):
        return str(value)
    return None


def date_text(value: date) -> str | None:
    """ISO text for a date (or datetime) that a spreadsheet cannot show as that date,
    else None: one before :data:`FIRST_SERIAL_DATE` (a datetime in UTC)."""
    if isinstance(value, datetime):
        moment = value
        if value.tzinfo is not None:
            try:
                moment = value.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:  # year 1 or 9999 moved past the calendar's edge
                return value.isoformat()
        return value.isoformat() if moment < _FIRST_SERIAL_DATETIME else None
    return value.isoformat() if value < FIRST_SERIAL_DATE else None


def long_texts(values: Sequence[object]) -> int:
    """How many of ``values`` are texts longer than a cell holds (the workbook cuts them)."""
    return sum(1 for value in values if type(value) is str and len(value) > EXCEL_MAX_TEXT)


def long_texts_notice(count: int, workbook: str, csv: str) -> str | None:
    """What the workbook cuts when ``count`` texts are longer than a cell, if anything."""
    if not count:
        return None
    texts, them = (
        ("texto", "lo tiene completo") if count == 1 else ("textos", "los tiene completos")
    )
    return (
        f"{workbook} corta {spanish_int(count)} {texts} de más de {spanish_int(EXCEL_MAX_TEXT)} "
        f"caracteres (el máximo de una celda de Excel); {csv} {them}."
    )


def spanish_int(number: int) -> str:
    """An integer with Spanish thousands separators (16.384)."""
    return f"{number:,}".replace(",", ".")
