"""Columns of the tables a report writes, shared by its CSV and XLSX outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: How a cell is written: ``text`` is user text (neutralised in CSV, a string in XLSX);
#: ``amount`` is money rounded to cents; ``decimal`` any exact number; ``percent`` a rate;
#: ``value`` is any JSON scalar, written as its type says (text, number or boolean).
CellKind = Literal["text", "integer", "amount", "decimal", "percent", "date", "datetime", "value"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its header in the CSV file, its header in the workbook, its kind."""

    csv_header: str
    title: str
    kind: CellKind
    width: float = 12
