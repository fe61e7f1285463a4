"""Tabular: any list of objects as a table, nested objects flattened, late columns kept."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from reports_shared.errors import InvalidPayload
from reports_worker.reporttypes.tabular import ColumnClash, Tabular, flatten
from tests.support.builds import Builder


def test_flatten_spreads_nested_objects_into_dotted_names() -> None:
    record = {"id": 1, "cliente": {"nombre": "Ana", "dir": {"ciudad": "Lima"}}, "tags": ["a", 1]}
    assert flatten(record) == {
        "id": 1,
        "cliente.nombre": "Ana",
        "cliente.dir.ciudad": "Lima",
        "tags": '["a",1]',
    }


def test_columns_keep_first_seen_order_even_when_they_appear_late(build: Builder) -> None:
    # given a column that only the last record has
    records = [{"b": 1, "a": {"x": "uno"}}, {"a": {"x": "dos"}, "b": 2}, {"b": 3, "c": True}]

    # when
    built = build(records, report="Tabular")

    # then
    assert built.csv("datos.csv") == [
        ["b", "a.x", "c"],
        ["1", "uno", ""],
        ["2", "dos", ""],
        ["3", "", "true"],
    ]


def test_numbers_stay_exact(build: Builder) -> None:
    built = build(b'[{"importe": 0.1000000000000000055511151231257827}]', report="Tabular")
    assert built.csv("datos.csv")[1] == ["0.1000000000000000055511151231257827"]


def test_workbook_has_typed_cells_and_the_full_header(build: Builder, tmp_path: Path) -> None:
    # given
    records = [{"n": 1, "txt": "=1+1"}, {"n": 2.5, "ok": False}]

    # when
    built = build(records, report="Tabular")

    # then
    book = openpyxl.load_workbook(built.extract("datos.xlsx", tmp_path))
    assert book.sheetnames == ["Resumen", "Datos"]
    assert list(book["Datos"].iter_rows(values_only=True)) == [
        ("n", "txt", "ok"),
        (1, "=1+1", None),
        (2.5, None, False),
    ]
    assert book["Datos"]["B2"].data_type == "s"


def test_csv_text_and_column_names_are_neutralised(build: Builder) -> None:
    built = build([{"f": "=cmd|' /C calc'!A0", "@g": 1}], report="Tabular")
    assert built.csv("datos.csv") == [["f", "'@g"], ["'=cmd|' /C calc'!A0", "1"]]


def test_rows_split_across_sheets_at_the_limit(build: Builder, tmp_path: Path) -> None:
    built = build([{"n": n} for n in range(5)], Tabular(sheet_row_limit=4))
    book = openpyxl.load_workbook(built.extract("datos.xlsx", tmp_path))
    assert book.sheetnames == ["Resumen", "Datos", "Datos 2"]
    assert [row[0] for row in book["Datos 2"].iter_rows(values_only=True)] == ["n", 3, 4]


def test_manifest_has_empty_totals(build: Builder) -> None:
    built = build([{"a": 1}], report="Tabular")
    manifest = json.loads(built.text("manifest.json"))
    assert manifest["reportType"] == "Tabular"
    assert manifest["totals"] == {}
    assert [entry["name"] for entry in manifest["files"]] == ["datos.xlsx", "datos.csv"]


def test_only_non_objects_fail_the_job(build: Builder) -> None:
    with pytest.raises(InvalidPayload, match="Ningún registro es utilizable"):
        build([1, 2, 3], report="Tabular")


def test_decimal_flattening_keeps_decimal_type() -> None:
    assert flatten({"a": {"b": Decimal("1.10")}}) == {"a.b": Decimal("1.10")}


@pytest.mark.parametrize(
    "record",
    [
        {"a.b": "literal", "a": {"b": "nested"}},
        {"a": {"b": "nested"}, "a.b": "literal"},
        {"a": {"b.c": 1, "b": {"c": 2}}},
        {"a": {"b": [1]}, "a.b": [2]},
    ],
)
def test_flatten_refuses_two_fields_of_one_column(record: dict[str, object]) -> None:
    with pytest.raises(ColumnClash) as raised:
        flatten(record)
    assert raised.value.name in {"a.b", "a.b.c"}


def test_a_record_whose_fields_clash_is_rejected_not_cut(build: Builder) -> None:
    # given records where a dotted key and a nested object give the same column
    payload = (
        b'[{"id":1,"a.b":"literal","a":{"b":"nested"}},{"id":2,"a":{"b":"n2"},"a.b":"l2"},'
        b'{"id":3,"a.b":"solo"},{"id":4,"a":{"b":"anidado"}}]'
    )

    # when
    built = build(payload, report="Tabular")

    # then both clashing records are in errores.csv, naming the column; none is cut
    reason = (
        "Dos campos del registro dan la misma columna «a.b» (una clave con puntos y un "
        "objeto anidado); se rechaza para no perder ninguno de los dos valores."
    )
    assert built.csv_rows("errores.csv") == [
        {"registro": "1", "referencia": "", "motivo": reason},
        {"registro": "2", "referencia": "", "motivo": reason},
    ]
    assert built.csv("datos.csv") == [["id", "a.b"], ["3", "solo"], ["4", "anidado"]]
    assert built.outcome.records_rejected == 2
