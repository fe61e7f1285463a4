"""The old way, for comparison: one process, the whole JSON in memory, pandas + openpyxl.

    uv run --group bench python bench/baseline_naive.py DATASET.json OUT.zip

Builds the same files as FacturacionMasiva (``facturas.xlsx`` with a Resumen and a
Facturas sheet, ``facturas.csv``, ``facturas_detalle.csv``, ``errores.csv``,
``manifest.json``) the way the seed did: ``json.load`` of the whole payload, DataFrames,
``to_excel`` with openpyxl, every file built in memory and zipped in memory. Prints one
JSON line with its figures (seconds per stage). Amounts are floats, as the seed had them.

``measure()`` runs it as a child process with a time cap; the child reports its own peak
RSS (VmHWM, since ``wait4``'s ``ru_maxrss`` starts from the parent's RSS at fork).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

MB = 1024 * 1024

INVOICE_HEADERS = {
    "invoiceNumber": "N° de factura",
    "issueDate": "Fecha de emisión",
    "currency": "Moneda",
    "customer.taxId": "RUC/DNI del cliente",
    "customer.name": "Cliente",
    "customer.email": "Correo del cliente",
    "items": "Ítems",
    "subtotal": "Subtotal",
    "tax": "Impuesto",
    "total": "Total",
}
LINE_HEADERS = {
    "invoiceNumber": "N° de factura",
    "line": "Línea",
    "sku": "SKU",
    "description": "Descripción",
    "quantity": "Cantidad",
    "unitPrice": "Precio unitario",
    "discount": "Descuento",
    "taxRate": "Tasa de impuesto",
    "net": "Importe neto",
    "tax": "Impuesto",
}


class StageTimer:
    """Seconds per stage of a build, each stage timed from the end of the one before (the
    first from the timer's creation)."""

    def __init__(self) -> None:
        """Start the first stage now."""
        self.stages: dict[str, float] = {}
        self._mark = time.perf_counter()

    def stage(self, name: str) -> None:
        """Close the stage ``name``: the seconds since the last one closed."""
        now = time.perf_counter()
        self.stages[name] = round(now - self._mark, 3)
        self._mark = now

    def total(self) -> float:
        """The seconds of every stage closed so far."""
        return round(sum(self.stages.values()), 3)


def build(source: Path, dest: Path) -> dict[str, Any]:
    """Build the report the naive way; seconds per stage."""
    import pandas as pd

    timer = StageTimer()
    with source.open("rb") as handle:
        records = json.load(handle)
    timer.stage("loadJson")
    lines = pd.json_normalize(records, "items", ["invoiceNumber"])
    invoices = pd.json_normalize(records).drop(columns=["items"])
    lines["discount"] = lines["discount"].fillna(0)
    lines["net"] = (lines["quantity"] * lines["unitPrice"] - lines["discount"]).round(2)
    lines["tax"] = (lines["net"] * lines["taxRate"]).round(2)
    lines["line"] = lines.groupby("invoiceNumber").cumcount() + 1
    sums = lines.groupby("invoiceNumber", sort=False).agg(
        items=("net", "size"), subtotal=("net", "sum"), tax=("tax", "sum")
    )
    invoices = invoices.join(sums, on="invoiceNumber")
    invoices["total"] = invoices["subtotal"] + invoices["tax"]
    facturas = invoices[list(INVOICE_HEADERS)].rename(columns=INVOICE_HEADERS)
    detalle = lines[list(LINE_HEADERS)].rename(columns=LINE_HEADERS)
    by_currency = invoices.groupby("currency")[["subtotal", "tax", "total"]].sum()
    by_rate = lines.merge(invoices[["invoiceNumber", "currency"]], on="invoiceNumber")
    by_rate = by_rate.groupby(["currency", "taxRate"])[["net", "tax"]].sum()
    timer.stage("dataFrames")
    workbook = io.BytesIO()
    with pd.ExcelWriter(workbook, engine="openpyxl") as writer:
        by_currency.to_excel(writer, sheet_name="Resumen")
        by_rate.to_excel(writer, sheet_name="Resumen", startrow=len(by_currency) + 3)
        facturas.to_excel(writer, sheet_name="Facturas", index=False)
    timer.stage("xlsx")
    facturas_csv = facturas.to_csv(index=False, lineterminator="\r\n").encode()
    detalle_csv = detalle.to_csv(index=False, lineterminator="\r\n").encode()
    timer.stage("csv")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("facturas.xlsx", workbook.getvalue())
        archive.writestr("facturas.csv", facturas_csv)
        archive.writestr("facturas_detalle.csv", detalle_csv)
        archive.writestr("errores.csv", "registro,referencia,motivo\r\n")
        manifest = {"recordsProcessed": len(records), "recordsRejected": 0}
        archive.writestr("manifest.json", json.dumps(manifest))
    dest.write_bytes(packed.getvalue())
    timer.stage("zip")
    return {
        "seconds": timer.total(),
        "stages": timer.stages,
        "records": len(records),
        "zipBytes": dest.stat().st_size,
        "peakRssMB": peak_rss_mb(),
    }


def peak_rss_mb() -> float | None:
    """This process's peak RSS in MB (VmHWM), None where /proc is not there."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def measure(
    source: Path, scratch: Path, timeout: float, script: Path = Path(__file__)
) -> dict[str, Any]:
    """Run ``script`` (this one: :func:`build`; or baseline_peer.py) in a child process
    capped at ``timeout`` s; figures and peak RSS."""
    dest, out_path, err_path = (scratch / f"{script.stem}.{ext}" for ext in ("zip", "out", "err"))
    started = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        child = subprocess.Popen(
            [sys.executable, str(script), str(source), str(dest)],
            stdout=out,
            stderr=err,
            start_new_session=True,  # killpg reaches anything it starts
        )
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            _, status, usage = os.wait4(child.pid, 0)
            dest.unlink(missing_ok=True)
            return {"status": "timeout", "wallSeconds": round(timeout, 1),
                    "peakRssMB": round(usage.ru_maxrss / 1024, 1)}  # fmt: skip
        time.sleep(0.1)
    child.returncode = os.waitstatus_to_exitcode(status)
    dest.unlink(missing_ok=True)
    if child.returncode != 0:
        return {"status": "failed", "error": err_path.read_text(errors="replace")[-4000:]}
    result: dict[str, Any] = json.loads(out_path.read_text())
    result["status"] = "ok"
    result["wallSeconds"] = round(time.perf_counter() - started, 3)
    # ru_maxrss starts from the parent's RSS at fork; the child's own VmHWM does not.
    result["peakRssMB"] = result.get("peakRssMB") or round(usage.ru_maxrss / 1024, 1)
    result["recordsPerSecond"] = round(result["records"] / result["seconds"])
    return result


def available() -> str | None:
    """Why the baseline cannot run here, or None when it can."""
    try:
        import openpyxl  # noqa: F401
        import pandas  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (uv run --group bench ...)"
    return None


def main() -> None:
    """Child: build one dataset and print the figures as one JSON line."""
    print(json.dumps(build(Path(sys.argv[1]), Path(sys.argv[2]))))


if __name__ == "__main__":
    main()
