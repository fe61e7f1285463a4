"""Column widths that fit values as the workbook formats them, for small sheets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from ..columns import CellKind

#: Extra width per character of a number or date: LibreOffice without Calibri prints in
#: DejaVu Sans, whose digits are about a fifth wider; a number that does not fit prints
#: as ###, where text only runs into the next cell.
_DIGIT_SLACK = 1.2
#: Bold text (labels, headers) is wider still.
_BOLD_SLACK = 1.1
#: Room for the cell's padding, in characters.
_PADDING = 2


def formatted(value: object, kind: CellKind) -> str:
    """``value`` as its cell shows it (the number formats of :mod:`.spreadsheetparts`)."""
    if isinstance(value, bool) or value is None:
        return str(value or "")
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, int | Decimal | float) and kind in ("amount", "integer", "percent"):
        if kind == "amount":
            return f"{value:,.2f}"
        if kind == "percent":
            return f"{Decimal(value) * 100:,.2f}%"
        return f"{value:,}"
    return str(value)


def display_width(value: object, kind: CellKind, *, bold: bool = False) -> float:
    """The width, in characters, that shows ``value`` whole."""
    slack = (1 if kind == "text" else _DIGIT_SLACK) * (_BOLD_SLACK if bold else 1)
    return round(len(formatted(value, kind)) * slack + _PADDING, 1)


def fitted_widths(
    rows: Iterable[tuple[Sequence[object], Sequence[CellKind], bool]],
    minimum: dict[int, float],
) -> dict[int, float]:
    """Widths (0-based column -> characters) that show every value of ``rows`` whole.

    Each row is its values, their kinds, and whether it is bold; no column narrower than
    ``minimum`` says.
    """
    widths = dict(minimum)
    for values, kinds, bold in rows:
        for column, (value, kind) in enumerate(zip(values, kinds, strict=True)):
            needed = display_width(value, kind, bold=bold)
            widths[column] = max(widths.get(column, 0), needed)
    return widths
