"""Tabular past Excel's 16,384 columns says so: in the workbook and the manifest (defect 8).

``datos.csv`` holds every column; ``datos.xlsx`` can hold the first 16,384 only. The
summary sheet and ``manifest.json`` (``notes``) say how many columns the workbook left
out, so no one reads the workbook as the whole data.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl

from tests.support.builds import Builder

EXCEL_COLUMNS = 16_384


def wide(columns: int) -> bytes:
    """Two records over ``columns`` columns: the first holds all but the last."""
    first = {f"c{n}": n for n in range(columns - 1)}
    return json.dumps([first, {"c0": 0, f"c{columns - 1}": columns - 1}]).encode()


def summary_facts(path: Path, tmp_path: Path) -> dict[str, object]:
    """Label -> value of the workbook's Resumen sheet."""
    target = tmp_path / "datos.xlsx"
    target.write_bytes(zipfile.ZipFile(path).read("datos.xlsx"))
    book = openpyxl.load_workbook(target, read_only=True)
    facts = {row[0]: row[1] for row in book["Resumen"].iter_rows(values_only=True) if row}
    book.close()
    return facts


def test_twenty_thousand_columns_are_all_in_the_csv_and_the_cut_is_reported(
    build: Builder, tmp_path: Path
) -> None:
    # Given records over 20,000 columns
    # When the Tabular report is built
    built = build(wide(20_000), report="Tabular")
    # Then datos.csv has all 20,000 columns
    header = built.csv("datos.csv")[0]
    assert len(header) == 20_000
    # And the summary sheet says the workbook holds the first 16,384 of them
    facts = summary_facts(built.path, tmp_path)
    assert facts["Columnas"] == 20_000
    assert facts["Columnas en este libro"] == EXCEL_COLUMNS
    assert "3.616" in str(facts["Aviso"])
    assert "datos.csv" in str(facts["Aviso"])
    # And so does the manifest
    manifest = json.loads(built.zip.read("manifest.json"))
    (note,) = manifest["notes"]
    assert "16.384" in note
    assert "datos.csv" in note


def test_a_table_within_the_limit_has_no_notice(build: Builder, tmp_path: Path) -> None:
    # Given records over 100 columns
    # When the Tabular report is built
    built = build(wide(100), report="Tabular")
    # Then neither the summary nor the manifest carries a notice
    assert "Aviso" not in summary_facts(built.path, tmp_path)
    assert "notes" not in json.loads(built.zip.read("manifest.json"))
