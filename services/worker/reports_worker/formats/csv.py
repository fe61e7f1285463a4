"""CSV output: the two dialects, formula neutralisation and cell formatting.

Dialect ``rfc4180`` (default): UTF-8 without BOM, comma separator, CRLF line ends, quotes
only where needed, decimal point. Dialect ``excel-es``: the same but with ``;`` as
separator, a UTF-8 BOM and decimal comma, which Excel in Spanish locales opens as-is.
A file meant for people rather than programs (``errores.csv``) has a BOM in either
dialect: :func:`for_people`.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Protocol

from .columns import CellKind, Column

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


def for_people(dialect: CsvDialect) -> CsvDialect:
    """``dialect`` with a UTF-8 BOM, for a file people open in Excel.

    Without a BOM, Excel reads UTF-8 in the system's ANSI code page and garbles every
    accent ("Línea" shows as "LÃ­nea"); programs that read RFC 4180 files keep theirs
    BOM-free.
    """
    return replace(dialect, bom=True)


_TRIGGER_CHARS = "".join(FORMULA_TRIGGERS)


def neutralise(text: str) -> str:
    """``text`` made inert for spreadsheets: a leading formula trigger gets a ``'`` prefix."""
    # `"" in _TRIGGER_CHARS` holds: empty text is tested apart.
    return "'" + text if text and text[:1] in _TRIGGER_CHARS else text


def plain(value: Decimal) -> str:
    """``value`` in positional notation, never exponent notation (1E+2 -> 100)."""
    return f"{value:f}"


#: Zeros that positional notation may add to a number's own digits; past this, a number
#: keeps its exponent (``1E-999999`` would otherwise be a million characters).
MAX_PADDING_ZEROS = 30


def decimal_text(value: Decimal) -> str:
    """A decimal in positional notation, unless that pads it with more than 30 zeros.

    ``str`` is positional already unless it would use an exponent.
    """
    text = str(value)
    if "E" not in text:
        return text
    exponent = value.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and value.adjusted() >= -MAX_PADDING_ZEROS
        and (exponent <= MAX_PADDING_ZEROS)
    ):
        return plain(value)
    return text


def format_row(
    values: Sequence[object], kinds: Sequence[CellKind], decimal_comma: bool
) -> list[str]:
    """A row's values as CSV texts, by column kind (None gives an empty field)."""
    out: list[str] = []
    append = out.append
    for kind, value in zip(kinds, values, strict=True):
        if value is None:
            append("")
        elif kind == "text" or type(value) is str:
            append(neutralise(str(value)))
        elif type(value) is Decimal:
            text = decimal_text(value)
            append(text.replace(".", ",") if decimal_comma else text)
        elif isinstance(value, bool):
            append("true" if value else "false")
        elif isinstance(value, date):  # a datetime is a date too; both in ISO 8601
            append(value.isoformat())
        else:
            text = str(value)
            append(text.replace(".", ",") if decimal_comma and type(value) is float else text)
    return out


class CsvFields:
    """Field formatting of one dialect, for reports that render whole lines themselves."""

    #: Texts remembered by :meth:`repeated_text`; the memory is dropped when full.
    CACHE_SIZE = 4096

    def __init__(self, dialect: CsvDialect) -> None:
        self.delimiter = dialect.delimiter
        self.decimal_comma = dialect.decimal_comma
        self._needs_quotes = re.compile(f'[{re.escape(dialect.delimiter)}"\r\n]')
        self._cache: dict[object, str] = {}

    def repeated_text(self, value: object) -> str:
        """:meth:`text` for values that repeat a lot (product codes, descriptions)."""
        found = self._cache.get(value)
        if found is None:
            if len(self._cache) >= self.CACHE_SIZE:
                self._cache.clear()
            found = self._cache[value] = self.text(value)
        return found

    def text(self, value: object) -> str:
        """User text: neutralised, quoted if it must be (as csv's minimal quoting does)."""
        if value is None:
            return ""
        text = neutralise(str(value))
        if self._needs_quotes.search(text):
            return '"' + text.replace('"', '""') + '"'
        return text

    def number(self, value: Decimal) -> str:
        """An exact number in positional notation, with the dialect's decimal mark."""
        text = str(value)
        if "E" in text:
            text = plain(value)
        return text.replace(".", ",") if self.decimal_comma else text

    def numbers(self, values: Sequence[Decimal | int]) -> str:
        """Several numbers as consecutive fields (one pass for the exponent and the mark)."""
        text = self.delimiter.join(map(str, values))
        if "E" in text:
            text = self.delimiter.join(
                plain(value) if isinstance(value, Decimal) else str(value) for value in values
            )
        return text.replace(".", ",") if self.decimal_comma else text


class ByteSink(Protocol):
    """Where a CSV file's bytes go: a file, or a ZIP member being streamed."""

    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


class CsvTable:
    """A CSV file written row by row; values are formatted by column kind.

    Text is gathered and encoded in chunks of about 256 KB, so the sink (a file, or a
    file deflated by another thread as it comes) sees few, large writes.
    """

    _CHUNK_CHARS = 1 << 18

    def __init__(
        self, target: Path | ByteSink, columns: Sequence[Column], dialect: CsvDialect
    ) -> None:
        self._sink: ByteSink = target.open("wb") if isinstance(target, Path) else target
        self._pending: list[str] = []
        self._pending_chars = 0
        self._writer = csv.writer(self, delimiter=dialect.delimiter, lineterminator="\r\n")
        self._kinds = [column.kind for column in columns]
        self._decimal_comma = dialect.decimal_comma
        if dialect.bom:
            self._sink.write(codecs.BOM_UTF8)
        # Headers may come from the data too (Tabular's keys): neutralised like any text.
        self._writer.writerow([neutralise(column.csv_header) for column in columns])

    def write_lines(self, lines: str) -> int:
        """Append lines already rendered (fields formatted by :class:`CsvFields`, CRLF ends)."""
        self._pending.append(lines)
        self._pending_chars += len(lines)
        if self._pending_chars >= self._CHUNK_CHARS:
            self._flush()
        return len(lines)

    # csv.writer writes its rendered rows here.
    write = write_lines

    def write_encoded(self, lines: bytes) -> int:
        """Append lines already rendered and encoded as UTF-8 (CRLF ends), as they are."""
        if self._pending:  # what came before goes first
            self._flush()
        return self._sink.write(lines)

    def write_row(self, values: Sequence[object]) -> None:
        """Append one row."""
        self._writer.writerow(format_row(values, self._kinds, self._decimal_comma))

    def _flush(self) -> None:
        self._sink.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()
        self._pending_chars = 0

    def close(self) -> None:
        """Write what is pending and close the sink."""
        self._flush()
        self._sink.close()

    def __enter__(self) -> CsvTable:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
