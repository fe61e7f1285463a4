"""SpreadsheetML cells and rows, rendered as xlsxwriter renders them in constant-memory mode.

Inline strings with the same escapes, the same number formats, the same date serials:
what openpyxl reads back is the same, which the tests check against xlsxwriter.
Column letters come from :func:`.spreadsheetparts.column_letter`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from ..columns import CellKind
from . import _rows
from . import spreadsheetparts as parts
from .spreadsheetparts import column_letter
from .workbook import EXCEL_MAX_TEXT, FIRST_SERIAL_DATE, Style, date_text, number_text

_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_EXCEL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_EDGE_SPACE = (" ", "\t", "\n")
_AMOUNT = parts.STYLE_IDS["amount"]
_EPOCH = datetime(1899, 12, 31)
_EPOCH_ORDINAL = _EPOCH.toordinal()

Cell = Callable[[str, object], str]

#: Stands for the row number in a row rendered before its number is known (see
#: :meth:`.spreadsheetml.SpreadsheetTable.append_prepared`). No rendered cell holds it:
#: XML cannot, and text with control characters is escaped or takes the generic path.
ROW_MARK = "\x00"


def xml_text(value: object) -> tuple[str, bool]:
    """``value`` as the text of an inline string, and whether to preserve its spaces.

    Control characters become Excel's ``_xHHHH_`` escapes (and a literal ``_xHHHH_``
    is itself escaped), exactly as xlsxwriter does.
    """
    text = str(value)[:EXCEL_MAX_TEXT]
    if _NEEDS_ESCAPE.search(text):
        text = _EXCEL_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda found: f"_x{ord(found.group()):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    preserve = bool(text) and (text[0] in " \t\n" or text[-1] in " \t\n")
    return text, preserve


def excel_serial(value: date) -> float | int:
    """Excel's serial number of a date or datetime (1900 system, as xlsxwriter counts).

    Right from 1900-03-01 on; earlier dates are written as text (see :func:`.date_text`).
    """
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        delta = value - _EPOCH
        serial: float | int = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    else:
        serial = value.toordinal() - _EPOCH_ORDINAL
    # Excel counts 1900-02-29, which never was: days after it are one higher.
    return serial + 1 if serial > 59 else serial


def string_cell(ref: str, value: object, style: str = "") -> str:
    """An inline-string cell (``style`` is a ready ``s="n"`` attribute, or empty)."""
    text, preserve = xml_text(value)
    space = ' xml:space="preserve"' if preserve else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _number_cell(style: str, *, exact_decimals: bool = False) -> Cell:
    def cell(ref: str, value: object) -> str:
        if exact_decimals and type(value) is Decimal:
            # Amounts already rounded to cents: their decimal text is what Excel reads.
            return f'<c r="{ref}"{style}><v>{value}</v></c>'
        if isinstance(value, bool):
            return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
        if isinstance(value, Decimal | int | float):
            text = number_text(value)
            if text is not None:
                return string_cell(ref, text)
            return f'<c r="{ref}"{style}><v>{float(value):.16G}</v></c>'
        return string_cell(ref, value)

    return cell


def _date_cell(style: str) -> Cell:
    def cell(ref: str, value: object) -> str:
        if isinstance(value, date):
            text = date_text(value)
            if text is not None:
                return string_cell(ref, text)
            return f'<c r="{ref}"{style}><v>{excel_serial(value):.16G}</v></c>'
        return string_cell(ref, value)

    return cell


def _text_cell(ref: str, value: object) -> str:
    return string_cell(ref, value)


def _value_cell(ref: str, value: object) -> str:
    if isinstance(value, str):
        return string_cell(ref, value)
    return _NUMBER(ref, value)


_NUMBER = _number_cell("")
CELLS: dict[CellKind, Cell] = {
    "text": _text_cell,
    "integer": _number_cell(f' s="{parts.STYLE_IDS["integer"]}"'),
    "amount": _number_cell(f' s="{parts.STYLE_IDS["amount"]}"', exact_decimals=True),
    "decimal": _NUMBER,
    "percent": _number_cell(f' s="{parts.STYLE_IDS["percent"]}"'),
    "date": _date_cell(f' s="{parts.STYLE_IDS["date"]}"'),
    "datetime": _date_cell(f' s="{parts.STYLE_IDS["datetime"]}"'),
    "value": _value_cell,
}


def render_row(
    row: int | str, values: Sequence[object], kinds: Sequence[CellKind], letters: Sequence[str]
) -> str:
    """One ``<row>`` of SpreadsheetML (1-based ``row``); None values leave no cell.

    Plain text and rounded amounts, most of the cells, are rendered inline here; the
    rest goes through :data:`CELLS`.
    """
    out = [f'<row r="{row}">']
    append = out.append
    for kind, letter, value in zip(kinds, letters, values, strict=True):
        if value is None:
            continue
        if (
            kind == "text"
            and type(value) is str
            and len(value) <= EXCEL_MAX_TEXT
            and value[:1] not in _EDGE_SPACE
            and value[-1:] not in _EDGE_SPACE
            and not _NEEDS_ESCAPE.search(value)
        ):
            append(f'<c r="{letter}{row}" t="inlineStr"><is><t>{value}</t></is></c>')
        elif kind == "amount" and type(value) is Decimal:
            append(f'<c r="{letter}{row}" s="{_AMOUNT}"><v>{value}</v></c>')
        else:
            append(CELLS[kind](f"{letter}{row}", value))
    append("</row>")
    return "".join(out)


class _Shape:
    """The template of rows whose empty cells are exactly ``missing``.

    The template is the row's XML cut where the values and the row's number go (slots);
    ``_rows.fill`` (C) puts them in, or says that the row is not the template's case.
    """

    def __init__(self, kinds: Sequence[CellKind], letters: Sequence[str], missing: set[int]):
        present = [col for col in range(len(kinds)) if col not in missing]
        cells = []
        for col in present:
            if kinds[col] == "text":
                cells.append(
                    f'<c r="{letters[col]}{ROW_MARK}" t="inlineStr"><is><t>%s</t></is></c>'
                )
            else:
                style = parts.STYLE_IDS[kinds[col]]
                cells.append(f'<c r="{letters[col]}{ROW_MARK}" s="{style}"><v>%s</v></c>')
        template = f'<row r="{ROW_MARK}">' + "".join(cells) + "</row>"
        pieces = re.split(f"(%s|{ROW_MARK})", template)
        self._literals = pieces[0::2]
        columns = iter(present)
        self._slots = [
            _ROW_SLOT if marker == ROW_MARK else _slot(next(columns), kinds)
            for marker in pieces[1::2]
        ]

    def render(
        self, number: str, values: Sequence[object], serials: dict[date, str]
    ) -> bytes | None:
        """The row's XML, UTF-8, when it fits the template, else None.

        ``serials`` remembers the Excel serial of each date seen (invoices share dates).
        """
        return _rows.fill(self._literals, self._slots, number, values, serials, _serial, Decimal)


#: The slot of the row's number in a template; a value's is 4 * column + its kind's code.
_ROW_SLOT = -1
_SLOT_KINDS = {"text": 0, "date": 1, "amount": 2, "integer": 3}


def _slot(col: int, kinds: Sequence[CellKind]) -> int:
    return 4 * col + _SLOT_KINDS[kinds[col]]


def _serial(value: date, serials: dict[date, str]) -> str | None:
    """The Excel serial of ``value`` as text, kept in ``serials``; None before 1900-03-01
    (such a date is written as text, by :func:`render_row`)."""
    if value < FIRST_SERIAL_DATE:
        return None
    serial = serials[value] = str(excel_serial(value))
    return serial


class RowTemplate:
    """A table's rows rendered by one ``%`` format when every cell is the common case.

    The common case: text that needs no escaping, rounded amounts, dates and integers.
    Rows with empty cells get a template of their own shape (there are few shapes).
    Any other row goes through :func:`render_row`: the output is the same either way,
    which the tests check.
    """

    _FAST_KINDS = frozenset({"text", "amount", "date", "integer"})
    _MAX_SHAPES = 64

    def __init__(self, kinds: Sequence[CellKind], letters: Sequence[str]) -> None:
        self._kinds = list(kinds)
        self._letters = list(letters)
        fast = set(kinds) <= self._FAST_KINDS
        self._full = _Shape(kinds, letters, set()) if fast else None
        self._shapes: dict[tuple[int, ...], _Shape] = {}
        self._serials: dict[date, str] = {}

    def _shape(self, missing: tuple[int, ...]) -> _Shape | None:
        shape = self._shapes.get(missing)
        if shape is None and len(self._shapes) < self._MAX_SHAPES:
            shape = self._shapes[missing] = _Shape(self._kinds, self._letters, set(missing))
        return shape

    def render(self, row: int | str, values: Sequence[object]) -> bytes:
        """The row's XML, UTF-8 (``row`` may be :data:`ROW_MARK`, for the table to fill in)."""
        if self._full is not None:
            if len(self._serials) > 100_000:  # a bound, whatever the dates
                self._serials.clear()
            number = str(row)
            # The template of this row's shape (`None in values` compares each value with
            # None: a Decimal's comparison took a quarter of a row's time).
            missing = _rows.missing(values)
            shape = self._shape(missing) if missing else self._full
            if shape is not None:
                rendered = shape.render(number, values, self._serials)
                if rendered is not None:
                    return rendered
        return render_row(row, values, self._kinds, self._letters).encode()


def styled_row(row: int, values: Sequence[str], style: Style) -> str:
    """One row of text cells in a named style."""
    attribute = f' s="{parts.STYLE_IDS[style]}"'
    rendered = [
        string_cell(f"{column_letter(col)}{row}", value, attribute)
        for col, value in enumerate(values)
    ]
    return f'<row r="{row}">{"".join(rendered)}</row>'
