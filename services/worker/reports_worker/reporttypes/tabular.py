"""Tabular: any array of JSON objects as one table, in ``datos.csv`` and ``datos.xlsx``.

Nested objects become dotted column names (``cliente.nombre``); lists are kept as JSON
text. A record whose fields would share one column (a dotted key ``"a.b"`` beside
``{"a": {"b": ...}}``) is rejected, naming the column, rather than lose one of the
values. Columns keep the order in which they are first seen. Since a column may first
appear in the last record, rows are spooled to a temporary file (JSON lines, exact
decimals) and both outputs are written at the end, when the header is complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import msgspec

from ..building.context import BuildContext, BuildResult
from ..formats.columns import Column
from ..formats.csv import CsvTable
from ..formats.xlsx.spreadsheetml import open_workbook
from ..formats.xlsx.workbook import (
    EXCEL_MAX_COLUMNS,
    EXCEL_MAX_TEXT,
    SheetWriter,
    long_texts,
    long_texts_notice,
    spanish_int,
)
from .reporttype import SpreadsheetReport

#: The most distinct columns a payload may bring: every column name is kept in memory.
#: The CSV file has them all; the workbook the first 16,384 (Excel's limit), and then its
#: summary sheet and the manifest's ``notes`` say how many it left out.
MAX_COLUMNS = 50_000

_spool_encoder = msgspec.json.Encoder(decimal_format="number")
_spool_decoder = msgspec.json.Decoder(list[Any], float_hook=Decimal)
_list_encoder = msgspec.json.Encoder(decimal_format="number")


class ColumnClash(ValueError):
    """Two fields of one record flatten to the same column name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    @property
    def reason(self) -> str:
        """Why the record is rejected, for ``errores.csv``."""
        return (
            f"Dos campos del registro dan la misma columna «{self.name}» (una clave con "
            "puntos y un objeto anidado); se rechaza para no perder ninguno de los dos valores."
        )


def flatten(
    record: dict[str, Any], prefix: str = "", into: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``record`` with nested objects spread into dotted keys; lists as JSON text.

    ColumnClash if two fields give the same name (``"a.b"`` and ``{"a": {"b": ...}}``).
    """
    flat: dict[str, Any] = {} if into is None else into
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flatten(value, f"{name}.", flat)
            continue
        if name in flat:
            raise ColumnClash(name)
        if isinstance(value, list):
            flat[name] = _list_encoder.encode(value).decode()
        else:
            flat[name] = value
    return flat


class Tabular(SpreadsheetReport):
    """Any list of JSON objects as a table, one column per (flattened) field."""

    name: ClassVar[str] = "Tabular"
    description: ClassVar[str] = (
        "Tabla genérica: cualquier lista de objetos JSON como CSV y Excel, con los objetos "
        "anidados aplanados en columnas con nombres separados por puntos."
    )
    record_schema: ClassVar[Any] = dict[str, Any]
    file_stem: ClassVar[str] = "reporte_tabular"

    def build(
        self, records: Iterator[tuple[int, dict[str, Any]]], context: BuildContext
    ) -> BuildResult:
        """Spool the flattened rows, then write the CSV and the workbook."""
        files = context.files
        xlsx_path = files.path("datos.xlsx", compress=False)
        csv_path = files.path("datos.csv")
        spool = files.spool_path()
        columns: dict[str, int] = {}
        rows = cut = 0
        with spool.open("wb") as out:
            for position, record in records:
                try:
                    flat = flatten(record)
                except ColumnClash as clash:
                    context.rejections.reject(position, clash.reason)
                    continue
                new = [name for name in flat if name not in columns]
                if len(columns) + len(new) > MAX_COLUMNS:
                    context.rejections.reject(
                        position, f"El registro supera el máximo de {MAX_COLUMNS:,} columnas."
                    )
                    continue
                for name in new:
                    columns[name] = len(columns)
                values = [flat.get(name) for name in columns]
                line = _spool_encoder.encode(values)
                if len(line) > EXCEL_MAX_TEXT:  # a text as long can only be in a longer line
                    cut += long_texts(values[:EXCEL_MAX_COLUMNS])
                out.write(line + b"\n")
                rows += 1
        table = [Column(name, name, "value", max(10, min(len(name) + 2, 40))) for name in columns]
        cut += long_texts([column.title for column in table[:EXCEL_MAX_COLUMNS]])
        notes = [columns_notice(len(table)), long_texts_notice(cut, "datos.xlsx", "datos.csv")]
        self._write(spool, table, csv_path, xlsx_path, context, rows, notes)
        return BuildResult(records_processed=rows, notes=tuple(note for note in notes if note))

    def _write(
        self,
        spool: Path,
        table: list[Column],
        csv_path: Path,
        xlsx_path: Path,
        context: BuildContext,
        rows: int,
        notes: list[str | None],
    ) -> None:
        width = len(table)
        padding: list[Any] = [None] * width
        with ExitStack() as stack:
            book = open_workbook(
                xlsx_path,
                title="Datos tabulares",
                row_limit=self.sheet_row_limit,
                engine=self.workbook_engine,
            )
            stack.callback(book.close)
            summary = book.sheet("Resumen")
            sheet = book.table("Datos", table[:EXCEL_MAX_COLUMNS])
            csv = stack.enter_context(CsvTable(csv_path, table, context.csv_dialect))
            source = stack.enter_context(spool.open("rb"))
            for line in source:
                values = _spool_decoder.decode(line)
                values.extend(padding[: width - len(values)])
                csv.write_row(values)
                sheet.append(values[:EXCEL_MAX_COLUMNS])
            sheet.close()
            _write_summary(
                summary, context, rows=rows, columns=width, sheets=sheet.sheets, notes=notes
            )


def columns_notice(columns: int) -> str | None:
    """What the workbook leaves out when the table is wider than Excel's sheets, if anything."""
    if columns <= EXCEL_MAX_COLUMNS:
        return None
    return (
        f"datos.xlsx tiene las primeras {spanish_int(EXCEL_MAX_COLUMNS)} de las "
        f"{spanish_int(columns)} columnas (el máximo de Excel); las "
        f"{spanish_int(columns - EXCEL_MAX_COLUMNS)} restantes están solo en datos.csv."
    )


def _write_summary(
    summary: SheetWriter,
    context: BuildContext,
    *,
    rows: int,
    columns: int,
    sheets: int,
    notes: list[str | None],
) -> None:
    summary.write_styled(["Resumen de datos tabulares"], "title")
    summary.skip()
    summary.set_widths({0: 30, 1: 24})
    summary.write_labelled("Generado (UTC)", context.generated_at, "datetime")
    options = ", ".join(f"{name}={value}" for name, value in sorted(context.options.items()))
    summary.write_labelled("Parámetros", options, "text")
    summary.write_labelled("Registros", rows, "integer")
    summary.write_labelled("Registros rechazados", context.rejections.count, "integer")
    summary.write_labelled("Columnas", columns, "integer")
    columns_cut, texts_cut = notes
    if columns_cut:
        summary.write_labelled("Columnas en este libro", EXCEL_MAX_COLUMNS, "integer")
        summary.write_labelled("Aviso", columns_cut, "text")
    summary.write_labelled("Hojas de datos", sheets, "integer")
    if texts_cut:
        summary.write_labelled("Aviso", texts_cut, "text")
