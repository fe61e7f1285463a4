"""manifest.json and the build outcome: as CONTRACT.md describes them, and truthful."""

from __future__ import annotations

import hashlib
import json

from tests.support.builds import JOB_ID, Builder
from tests.support.data import invoice


def test_manifest_has_the_contract_fields(build: Builder) -> None:
    built = build([invoice("A"), invoice("B", currency="XYZ")])
    manifest = json.loads(built.text("manifest.json"))
    assert list(manifest) == [
        "reportType",
        "jobId",
        "generatedAt",
        "recordsProcessed",
        "recordsRejected",
        "totals",
        "files",
    ]
    assert manifest["reportType"] == "FacturacionMasiva"
    assert manifest["jobId"] == JOB_ID
    assert manifest["generatedAt"] == "2026-01-15T10:05:30Z"
    assert (manifest["recordsProcessed"], manifest["recordsRejected"]) == (1, 1)
    assert manifest == built.outcome.manifest


def test_manifest_lists_every_other_file_with_true_size_and_digest(build: Builder) -> None:
    built = build([invoice("A"), invoice("B", currency="XYZ")])
    files = built.outcome.manifest["files"]
    assert [entry["name"] for entry in files] == [
        "facturas.xlsx",
        "facturas.csv",
        "facturas_detalle.csv",
        "errores.csv",
    ]
    assert sorted(entry["name"] for entry in files) == sorted(
        name for name in built.names() if name != "manifest.json"
    )
    for entry in files:
        data = built.zip.read(entry["name"])
        assert entry["sizeBytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()


def test_outcome_describes_the_zip_file(build: Builder) -> None:
    built = build([invoice("A")])
    data = built.path.read_bytes()
    assert built.outcome.size_bytes == len(data)
    assert built.outcome.sha256 == hashlib.sha256(data).hexdigest()
    assert built.outcome.file_name == "reporte_facturacion_20260115_0f8e7d6c.zip"
    assert built.zip.testzip() is None


def test_xlsx_is_stored_and_text_files_deflated(build: Builder) -> None:
    built = build([invoice("A")])
    kinds = {info.filename: info.compress_type for info in built.zip.infolist()}
    assert kinds["facturas.xlsx"] == 0  # ZIP_STORED: already compressed
    assert kinds["facturas.csv"] == kinds["facturas_detalle.csv"] == 8  # ZIP_DEFLATED
