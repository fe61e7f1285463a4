"""CSV output: the two dialects, formula neutralisation and cell formatting.

Dialect ``rfc4180`` (default): UTF-8 without BOM, comma separator, CRLF line ends, quotes
only where needed, decimal point. Dialect ``excel-es``: the same but with ``;`` as
separator, a UTF-8 BOM and decimal comma, which Excel in Spanish locales opens as-is.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO

from .columns import CellKind, Column
from .money import plain

#: A leading character that makes a spreadsheet read a cell as a formula (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """How a CSV file is written."""

    name: str
    delimiter: str
    decimal_comma: bool
    bom: bool


CSV_DIALECTS: dict[str, CsvDialect] = {
    "rfc4180": CsvDialect("rfc4180", ",", decimal_comma=False, bom=False),
    "excel-es": CsvDialect("excel-es", ";", decimal_comma=True, bom=True),
}
DEFAULT_DIALECT = "rfc4180"


def neutralise(text: str) -> str:
    """``text`` made inert for spreadsheets: a leading formula trigger gets a ``'`` prefix."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _text(value: object) -> str:
    return "" if value is None else neutralise(str(value))


def _integer(value: object) -> str:
    return "" if value is None else str(value)


def _date(value: object) -> str:
    # datetime is a date too: both in ISO 8601, which every spreadsheet reads.
    return value.isoformat() if isinstance(value, date) else ""


def _number_formatter(decimal_comma: bool) -> Callable[[object], str]:
    def number(value: object) -> str:
        if not isinstance(value, Decimal | int):
            return ""
        text = plain(value) if isinstance(value, Decimal) else str(value)
        return text.replace(".", ",") if decimal_comma else text

    return number


def _value_formatter(decimal_comma: bool) -> Callable[[object], str]:
    number = _number_formatter(decimal_comma)

    def value(cell: object) -> str:
        if isinstance(cell, bool):
            return "true" if cell else "false"
        if isinstance(cell, Decimal | int):
            return number(cell)
        return _text(cell)

    return value


def cell_formatters(
    kinds: Sequence[CellKind], dialect: CsvDialect
) -> list[Callable[[object], str]]:
    """One function per column turning a value into its CSV text."""
    number = _number_formatter(dialect.decimal_comma)
    table: dict[CellKind, Callable[[object], str]] = {
        "text": _text,
        "integer": _integer,
        "amount": number,
        "decimal": number,
        "percent": number,
        "date": _date,
        "datetime": _date,
        "value": _value_formatter(dialect.decimal_comma),
    }
    return [table[kind] for kind in kinds]


class CsvTable:
    """A CSV file written row by row; values are formatted by column kind."""

    def __init__(self, path: Path, columns: Sequence[Column], dialect: CsvDialect) -> None:
        self._file: IO[str] = path.open(
            "w", encoding="utf-8-sig" if dialect.bom else "utf-8", newline=""
        )
        self._writer = csv.writer(self._file, delimiter=dialect.delimiter, lineterminator="\r\n")
        self._formatters = cell_formatters([column.kind for column in columns], dialect)
        self._writer.writerow([column.csv_header for column in columns])

    def write(self, values: Sequence[object]) -> None:
        """Append one row."""
        self._writer.writerow(
            [fmt(value) for fmt, value in zip(self._formatters, values, strict=True)]
        )

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()

    def __enter__(self) -> CsvTable:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
