"""The records a build could not use: counted, and listed in ``errores.csv``."""

from __future__ import annotations

from ..formats.columns import Column
from ..formats.csv import CsvDialect, CsvTable, for_people
from ..formats.zip.archive import ReportFiles

ERRORS_FILE = "errores.csv"
#: ``registro`` counts records from 1 in payload order (array element or NDJSON record);
#: ``referencia`` is the record's own identifier when it has one (the invoice number).
ERRORS_COLUMNS = (
    Column("registro", "Registro", "integer"),
    Column("referencia", "Referencia", "text"),
    Column("motivo", "Motivo", "text"),
)


class Rejections:
    """Writes ``errores.csv`` (created at the first rejection) and remembers the first."""

    def __init__(self, files: ReportFiles, dialect: CsvDialect) -> None:
        self._files = files
        # Read by people (the reasons are Spanish sentences): a BOM, so Excel shows accents.
        self._dialect = for_people(dialect)
        self._table: CsvTable | None = None
        self.count = 0
        self.first: tuple[int, str] | None = None

    def reject(self, position: int, reason: str, reference: object = None) -> None:
        """Record number ``position`` (1-based) is skipped because of ``reason``."""
        if self._table is None:
            path = self._files.path(ERRORS_FILE)
            self._table = CsvTable(path, ERRORS_COLUMNS, self._dialect)
        self._table.write_row((position, reference, reason))
        self.count += 1
        if self.first is None:
            self.first = (position, reason)

    def close(self) -> None:
        """Flush ``errores.csv``, if any."""
        if self._table is not None:
            self._table.close()
