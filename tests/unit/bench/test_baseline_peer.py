"""The best peer (bench/baseline_peer.py) builds exact money and rejects what the product does."""

from __future__ import annotations

import csv
import importlib
import importlib.util
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devstack.datasets import iter_invoices
from tests.support.data import invoice, item

BENCH = Path(__file__).parents[3] / "bench"
INVOICES = 300
INVALID_EVERY = 23  # the dataset's own rejected records: one of each kind, in turn

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("polars") is None or importlib.util.find_spec("xlsxwriter") is None,
    reason="polars is not installed (the bench group: uv sync --all-groups)",
)

#: Half a cent exactly, where half-up and half-even part: 3 × 0.335 = 1.005 and
#: 0.50 × 0.09 = 0.045; and records the product rejects, for reasons the peer must find too.
EXTRA: list[dict[str, Any]] = [
    invoice("H-1", items=[item(quantity=3, unitPrice=0.335, taxRate=0.18)]),
    invoice("H-2", items=[item(quantity=1, unitPrice=0.5, taxRate=0.09)]),
    invoice("H-3", items=[item(quantity=2.75, unitPrice=19.99, taxRate=0.18, discount=2.35)]),
    invoice("R-1", items=[item(), item(taxRate=1.5)]),
    invoice("R-2", items=[item(unitPrice=-1)]),
    invoice("R-3", currency="pen"),
    invoice("R-4", issueDate="2024-13-01"),
    invoice("R-5", items=[item(quantity="tres")]),
]
REJECTED_EXTRA = ["R-1", "R-2", "R-3", "R-4", "R-5"]


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench/baseline_peer.py, imported as the benchmark runs it (bench/ on the path)."""
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("baseline_peer")


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A few hundred generated invoices, some rejected, and the records of EXTRA."""
    records = [json.loads(text) for text in iter_invoices(INVOICES, invalid_every=INVALID_EVERY)]
    path = tmp_path / "facturas.json"
    path.write_text(json.dumps(records + EXTRA, ensure_ascii=False), encoding="utf-8")
    return path


def test_money_equals_the_decimal_reference_and_the_product(
    peer: ModuleType, dataset: Path
) -> None:
    """Every invoice's subtotal, tax and total and every currency's totals are exact."""
    assert peer.verify(dataset, product=True) == []


def test_same_files_and_the_same_records_rejected(
    peer: ModuleType, dataset: Path, tmp_path: Path
) -> None:
    """The product's files; errores.csv (with a BOM) lists each rejected record by number."""
    figures = peer.build(dataset, tmp_path / "peer.zip")
    with zipfile.ZipFile(tmp_path / "peer.zip") as archive:
        assert set(archive.namelist()) == {
            "facturas.xlsx", "facturas.csv", "facturas_detalle.csv", "errores.csv",
            "manifest.json",
        }  # fmt: skip
        errores = archive.read("errores.csv").decode()
        detalle = archive.read("facturas_detalle.csv").decode()
        manifest = json.loads(archive.read("manifest.json"))
    assert errores.startswith("\ufeffregistro,referencia,motivo\r\n")
    rows = list(csv.DictReader(io.StringIO(errores.removeprefix("\ufeff"))))
    generated = [n for n in range(1, INVOICES + 1) if n % INVALID_EVERY == 0]
    extra = [INVOICES + 1 + n for n, record in enumerate(EXTRA) if record["invoiceNumber"] in
             REJECTED_EXTRA]  # fmt: skip
    assert [int(row["registro"]) for row in rows] == generated + extra
    assert all(row["motivo"] for row in rows)
    assert [row["motivo"][:7] for row in rows[-5:-3]] == ["Ítem 2:", "Ítem 1:"]
    assert figures["rejected"] == manifest["recordsRejected"] == len(rows)
    assert manifest["recordsProcessed"] == INVOICES + len(EXTRA) - len(rows)

    nets = {
        row["numero_factura"]: (Decimal(row["importe_neto"]), Decimal(row["impuesto"]))
        for row in csv.DictReader(io.StringIO(detalle))
        if row["numero_factura"].startswith("H-")
    }
    # Half-up, not half-even: 1.005 -> 1.01 (tax 0.1818 -> 0.18), 0.045 -> 0.05;
    # 2.75 × 19.99 - 2.35 = 52.6225 -> 52.62, tax 9.4716 -> 9.47.
    assert nets == {
        "H-1": (Decimal("1.01"), Decimal("0.18")),
        "H-2": (Decimal("0.50"), Decimal("0.05")),
        "H-3": (Decimal("52.62"), Decimal("9.47")),
    }
