"""The best peer, for comparison: polars to read, validate and price, xlsxwriter for the workbook.

    uv run --group bench python bench/baseline_peer.py DATASET.json OUT.zip
    uv run --group bench python bench/baseline_peer.py --verify DATASET.json [--product]

What a strong engineer writes in an afternoon today. It builds the files FacturacionMasiva
builds (``facturas.xlsx`` with *Resumen* and *Facturas*, ``facturas.csv``,
``facturas_detalle.csv``, ``errores.csv`` with a BOM, ``manifest.json``, in one ZIP) under the
same validation rules, and prints one JSON line with its figures (seconds per stage).

Money is polars' Decimal: amounts are cast to ``Decimal(38, 6)`` and lines are rounded with
``round(2, mode="half_away_from_zero")``, which is ROUND_HALF_UP for the non-negative
amounts the rules admit (polars' default, half to even, is not). The peer's limits, kept as
they are because its author would keep them: polars reads JSON numbers through f64 (exact to
~15 significant digits; a seventh decimal is rounded away), a record that is not an object
or a field holding an object or array where text or a number belongs fails the whole file
(a number given as text, or a boolean, is a rejected record), and the whole payload is in
memory several times over.

``--verify`` builds with the peer and checks every invoice's subtotal, tax and total and
every currency's totals against a plain Python-decimal reference (``json.load`` with
``parse_float=Decimal``), and, with ``--product``, against the product's own manifest.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import sys
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

import polars as pl
import xlsxwriter
from baseline_naive import StageTimer, peak_rss_mb

#: Scale of the amounts as read: six decimals hold every amount of the benchmark datasets.
SCALE = 6
AMOUNT = pl.Decimal(38, SCALE)
MONEY = pl.Decimal(38, 2)
LIMIT = Decimal(10**15)
MAX_INVOICE_NUMBER = 100
HALF_UP: Final = "half_away_from_zero"  # half-up for amounts >= 0, which validation ensures
EXCEL_MAX_ROWS = 1_048_576

#: Read every number as text: a wrong type becomes a rejected record, not a failed file.
ITEM = pl.Struct(
    {
        "sku": pl.String,
        "description": pl.String,
        "quantity": pl.String,
        "unitPrice": pl.String,
        "taxRate": pl.String,
        "discount": pl.String,
    }
)
SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "invoiceNumber": pl.String,
    "issueDate": pl.String,
    "currency": pl.String,
    "customer": pl.Struct({"taxId": pl.String, "name": pl.String, "email": pl.String}),
    "items": pl.List(ITEM),
}
INVOICE_COLUMNS = {
    "invoiceNumber": "numero_factura",
    "issueDate": "fecha_emision",
    "currency": "moneda",
    "taxId": "cliente_id_tributario",
    "name": "cliente_nombre",
    "email": "cliente_correo",
    "items": "items",
    "subtotal": "subtotal",
    "tax": "impuesto",
    "total": "total",
}
LINE_COLUMNS = {
    "invoiceNumber": "numero_factura",
    "line": "linea",
    "sku": "sku",
    "description": "descripcion",
    "quantity": "cantidad",
    "unitPrice": "precio_unitario",
    "discount": "descuento",
    "taxRate": "tasa_impuesto",
    "net": "importe_neto",
    "lineTax": "impuesto",
}
SHEET_HEADERS = [
    "N° de factura",
    "Fecha de emisión",
    "Moneda",
    "RUC/DNI del cliente",
    "Cliente",
    "Correo del cliente",
    "Ítems",
    "Subtotal",
    "Impuesto",
    "Total",
]


def iso_currencies() -> frozenset[str]:
    """The ISO 4217 codes the product accepts (the same list: the rules are the same)."""
    from reports_worker.reporttypes.facturacion.currencies import ISO_4217_CODES

    return frozenset(ISO_4217_CODES)


def read(source: Path) -> pl.DataFrame:
    """The payload as one row per record (JSON array or NDJSON, gzip or not)."""
    raw = source.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    if raw.lstrip()[:1] == b"[":
        return pl.read_json(io.BytesIO(raw), schema=SCHEMA)
    return pl.read_ndjson(io.BytesIO(raw), schema=SCHEMA)


def _text(column: str) -> pl.Expr:
    """A user's text made safe for a spreadsheet: a leading = + - @ tab CR LF is quoted."""
    value = pl.col(column)
    return (
        pl.when(value.str.contains(r"^[=+\-@\t\r\n]"))
        .then(pl.lit("'") + value)
        .otherwise(value)
        .alias(column)
    )


def _amount(name: str) -> pl.Expr:
    """Column ``name`` (text as read) as an exact decimal; null where it is no number."""
    return pl.col(name).cast(AMOUNT, strict=False)


def validate_and_price(
    records: pl.DataFrame, currencies: frozenset[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Invoices priced, their lines priced, and the rejected records."""
    records = records.with_row_index("record", offset=1).unnest("customer")
    number = pl.col("invoiceNumber")
    header_problem = (
        pl.when(number.is_null())
        .then(pl.lit("Falta el campo obligatorio «invoiceNumber»."))
        .when(number.str.strip_chars() == "")
        .then(pl.lit("«invoiceNumber» no puede estar vacío."))
        .when(number.str.len_chars() > MAX_INVOICE_NUMBER)
        .then(pl.lit("«invoiceNumber» tiene más de 100 caracteres."))
        .when(pl.col("issueDate").str.to_date("%Y-%m-%d", strict=False).is_null())
        .then(pl.lit("«issueDate» no es una fecha válida (formato AAAA-MM-DD)."))
        .when(~pl.col("currency").is_in(sorted(currencies)) | pl.col("currency").is_null())
        .then(pl.lit("currency no es un código ISO 4217 vigente."))
        .when(pl.col("taxId").is_null())
        .then(pl.lit("Falta el campo obligatorio «customer.taxId»."))
        .when(pl.col("taxId").str.strip_chars() == "")
        .then(pl.lit("customer.taxId está vacío."))
        .when(pl.col("name").is_null() | (pl.col("name").str.strip_chars() == ""))
        .then(pl.lit("Falta «customer.name» o está vacío."))
        .when(pl.col("items").list.len().fill_null(0) == 0)
        .then(pl.lit("«items» debe tener al menos 1 elemento(s)."))
    )
    records = records.with_columns(header_problem.alias("problem"))

    lines = (
        records.select("record", "items")
        .explode("items", empty_as_null=False)
        .unnest("items")
        .with_columns(pl.int_range(1, pl.len() + 1).over("record").alias("line"))
        .with_columns(
            _amount("quantity").alias("q"),
            _amount("unitPrice").alias("p"),
            _amount("taxRate").alias("r"),
            pl.col("discount").fill_null("0").cast(AMOUNT, strict=False).alias("d"),
        )
    )
    q, p, r, d = pl.col("q"), pl.col("p"), pl.col("r"), pl.col("d")
    limit = pl.lit(LIMIT, AMOUNT)
    in_range = (
        (q > 0) & (q < limit) & (p >= 0) & (p < limit) & (r >= 0) & (r <= 1)
        & (d >= 0) & (d < limit)
    )  # fmt: skip
    # Price only lines that passed the checks: an out-of-range amount cannot overflow.
    gross = pl.when(in_range).then(q * p)
    lines = lines.with_columns(gross.alias("gross"))
    net = (pl.col("gross") - d).round(2, mode=HALF_UP).cast(MONEY)
    lines = lines.with_columns(net.alias("net"))
    lines = lines.with_columns(
        (pl.col("net") * r).round(2, mode=HALF_UP).cast(MONEY).alias("lineTax")
    )
    item = pl.lit("Ítem ") + pl.col("line").cast(pl.String)
    line_problem = (
        pl.when(q.is_null() | p.is_null() | r.is_null() | d.is_null())
        .then(item + pl.lit(": un importe falta o no es un número."))
        .when(q <= 0)
        .then(item + pl.lit(": quantity debe ser mayor que 0 (es ") + pl.col("quantity") + ").")
        .when(p < 0)
        .then(item + pl.lit(": unitPrice no puede ser negativo (es ") + pl.col("unitPrice") + ").")
        .when((r < 0) | (r > 1))
        .then(item + pl.lit(": taxRate debe estar entre 0 y 1 (es ") + pl.col("taxRate") + ").")
        .when(d < 0)
        .then(item + pl.lit(": discount no puede ser negativo."))
        .when(~in_range)
        .then(item + pl.lit(": un importe es demasiado grande."))
        .when(d > pl.col("gross"))
        .then(item + pl.lit(": discount supera quantity × unitPrice."))
        .when(pl.col("net") >= limit)
        .then(item + pl.lit(": el importe de la línea es demasiado grande."))
    )
    lines = lines.with_columns(line_problem.alias("problem"))
    first_line_problem = (
        lines.filter(pl.col("problem").is_not_null())
        .group_by("record")
        .agg(pl.col("problem").first().alias("lineProblem"))
    )
    records = records.join(first_line_problem, on="record", how="left").with_columns(
        pl.coalesce("problem", "lineProblem").alias("problem")
    )
    rejected = (
        records.filter(pl.col("problem").is_not_null())
        .sort("record")
        .select(
            pl.col("record").alias("registro"),
            # An empty reference is left out (null), as the product writes it: not "".
            pl.when(number.str.strip_chars() != "").then(number).alias("referencia"),
            pl.col("problem").alias("motivo"),
        )
    )
    good = records.filter(pl.col("problem").is_null()).select("record")
    lines = lines.join(good, on="record", how="semi").sort("record", "line")
    sums = lines.group_by("record").agg(
        pl.len().alias("items"), pl.col("net").sum().alias("subtotal"),
        pl.col("lineTax").sum().alias("tax"),
    )  # fmt: skip
    invoices = (
        records.drop("items", "problem", "lineProblem")
        .join(sums, on="record", how="inner")
        .sort("record")
        .with_columns((pl.col("subtotal") + pl.col("tax")).alias("total"))
        .with_columns(pl.col("taxId").str.strip_chars())
    )
    lines = lines.join(invoices.select("record", "invoiceNumber"), on="record")
    return invoices, lines, rejected


def write_csvs(
    invoices: pl.DataFrame, lines: pl.DataFrame, rejected: pl.DataFrame, out: Path
) -> None:
    """facturas.csv, facturas_detalle.csv and errores.csv (RFC 4180, CRLF; errores with a BOM)."""
    texts = ["invoiceNumber", "taxId", "name", "email"]
    invoices.select([_text(c) if c in texts else pl.col(c) for c in INVOICE_COLUMNS]).rename(
        INVOICE_COLUMNS
    ).write_csv(out / "facturas.csv", line_terminator="\r\n")
    lines.select(
        [
            _text(c) if c in ("invoiceNumber", "sku", "description") else pl.col(c)
            for c in LINE_COLUMNS
        ]
    ).with_columns(pl.col("discount").fill_null("0")).rename(LINE_COLUMNS).write_csv(
        out / "facturas_detalle.csv", line_terminator="\r\n"
    )
    if rejected.height:  # errores.csv only when records were rejected, as in the product
        rejected.with_columns(_text("referencia"), _text("motivo")).write_csv(
            out / "errores.csv", line_terminator="\r\n", include_bom=True
        )


def write_workbook(invoices: pl.DataFrame, lines: pl.DataFrame, path: Path) -> None:
    """facturas.xlsx: Resumen (counts, totals per currency and per rate) and Facturas."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0.00"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    summary = book.add_worksheet("Resumen")
    summary.set_column(0, 0, 28)
    summary.set_column(1, 4, 18)
    summary.write_row(0, 0, ["Facturación masiva"], bold)
    summary.write_row(1, 0, ["Facturas", invoices.height])
    dates = invoices["issueDate"]
    summary.write_row(2, 0, ["Desde", dates.min(), "Hasta", dates.max()])
    summary.write_row(4, 0, ["Moneda", "Facturas", "Subtotal", "Impuesto", "Total"], bold)
    row = 5
    for currency, count, subtotal, tax, total in currency_totals(invoices).iter_rows():
        summary.write_row(row, 0, [currency, count])
        for column, value in enumerate((subtotal, tax, total), start=2):
            summary.write_number(row, column, float(value), money)
        row += 1
    row += 1
    summary.write_row(row, 0, ["Moneda", "Tasa", "Importe neto", "Impuesto"], bold)
    by_rate = (
        lines.join(invoices.select("record", "currency"), on="record")
        .group_by("currency", "r")
        .agg(pl.col("net").sum(), pl.col("lineTax").sum())
        .sort("currency", "r")
    )
    for currency, rate, net, tax in by_rate.iter_rows():
        row += 1
        summary.write_string(row, 0, currency)
        summary.write_number(row, 1, float(rate))
        summary.write_number(row, 2, float(net), money)
        summary.write_number(row, 3, float(tax), money)

    table = invoices.select(
        _text("invoiceNumber"),
        pl.col("issueDate").str.to_date("%Y-%m-%d"),
        "currency",
        _text("taxId"),
        _text("name"),
        _text("email"),
        "items",
        *(pl.col(c).cast(pl.Float64) for c in ("subtotal", "tax", "total")),
    )
    sheet = None
    written = EXCEL_MAX_ROWS
    sheets = 0
    for number, issued, currency, tax_id, name, email, items, sub, tax, total in table.iter_rows():
        if written == EXCEL_MAX_ROWS:  # a new sheet: Facturas, Facturas 2, ...
            sheets += 1
            sheet = book.add_worksheet("Facturas" if sheets == 1 else f"Facturas {sheets}")
            sheet.set_column(0, 0, 16)
            sheet.set_column(1, 2, 12)
            sheet.set_column(3, 3, 14)
            sheet.set_column(4, 5, 32)
            sheet.set_column(7, 9, 14)
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, min(EXCEL_MAX_ROWS - 1, table.height), 9)
            sheet.write_row(0, 0, SHEET_HEADERS, bold)
            written = 1
        assert sheet is not None
        sheet.write_string(written, 0, number)
        sheet.write_datetime(written, 1, issued, day)
        sheet.write_string(written, 2, currency)
        sheet.write_string(written, 3, tax_id)
        sheet.write_string(written, 4, name)
        if email is not None:
            sheet.write_string(written, 5, email)
        sheet.write_number(written, 6, items)
        sheet.write_number(written, 7, sub, money)
        sheet.write_number(written, 8, tax, money)
        sheet.write_number(written, 9, total, money)
        written += 1
    book.close()


def currency_totals(invoices: pl.DataFrame) -> pl.DataFrame:
    """Per currency: invoices, subtotal, tax and total (exact decimals)."""
    return (
        invoices.group_by("currency")
        .agg(pl.len().alias("invoices"), pl.col("subtotal").sum(), pl.col("tax").sum(),
             pl.col("total").sum())
        .sort("currency")
    )  # fmt: skip


def build(source: Path, dest: Path) -> dict[str, Any]:
    """Build the report the peer's way into the ZIP ``dest``; seconds per stage."""
    currencies = iso_currencies()  # an import of the product's module: not the peer's time
    timer = StageTimer()
    records = read(source)
    timer.stage("read")
    invoices, lines, rejected = validate_and_price(records, currencies)
    del records
    timer.stage("validateAndPrice")
    with tempfile.TemporaryDirectory(prefix="peer-", dir=dest.parent) as work:
        out = Path(work)
        write_csvs(invoices, lines, rejected, out)
        timer.stage("csv")
        write_workbook(invoices, lines, out / "facturas.xlsx")
        timer.stage("xlsx")
        totals = {
            currency: {"invoices": count, "subtotal": str(sub), "tax": str(tax), "total": str(tot)}
            for currency, count, sub, tax, tot in currency_totals(invoices).iter_rows()
        }
        names = ["facturas.xlsx", "facturas.csv", "facturas_detalle.csv"]
        names += ["errores.csv"] if rejected.height else []
        manifest = {
            "reportType": "FacturacionMasiva",
            "generatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
            "recordsProcessed": invoices.height,
            "recordsRejected": rejected.height,
            "totals": totals,
            "files": [
                {"name": name, "sizeBytes": (out / name).stat().st_size,
                 "sha256": hashlib.sha256((out / name).read_bytes()).hexdigest()}
                for name in names
            ],
        }  # fmt: skip
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in names:
                # The workbook is a ZIP already: deflating it again costs time for nothing.
                stored = name.endswith(".xlsx")
                archive.write(out / name, name, zipfile.ZIP_STORED if stored else None)
            archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False))
    timer.stage("zip")
    return {
        "seconds": timer.total(),
        "stages": timer.stages,
        "records": invoices.height + rejected.height,
        "rejected": rejected.height,
        "zipBytes": dest.stat().st_size,
        "peakRssMB": peak_rss_mb(),
        "totals": totals,
    }


def reference(source: Path) -> tuple[dict[str, tuple[Decimal, ...]], dict[str, dict[str, Any]]]:
    """Python-decimal reference: per invoice (subtotal, tax, total) and per-currency totals.

    Record by record with ``decimal``, the contract's rules written plainly; the invoice's
    rounding under half-even rides along as a fourth figure, to count where it differs.
    """
    with source.open("rb") as handle:
        text = handle.read()
    if text[:2] == b"\x1f\x8b":
        text = gzip.decompress(text)
    body = text.decode("utf-8-sig")
    parse: Callable[[str], Any] = lambda t: json.loads(t, parse_float=Decimal)  # noqa: E731
    records = parse(body) if body.lstrip().startswith("[") else [
        parse(line) for line in body.splitlines() if line.strip()
    ]  # fmt: skip
    currencies = iso_currencies()
    per_invoice: dict[str, tuple[Decimal, ...]] = {}
    per_currency: dict[str, dict[str, Any]] = {}
    cent = Decimal("0.01")
    for record in records:
        priced = _reference_invoice(record, currencies, cent)
        if priced is None:
            continue
        subtotal, tax, even = priced
        per_invoice[record["invoiceNumber"]] = (subtotal, tax, subtotal + tax, even)
        entry = per_currency.setdefault(
            record["currency"], {"invoices": 0, "subtotal": Decimal(0), "tax": Decimal(0)}
        )
        entry["invoices"] += 1
        entry["subtotal"] += subtotal
        entry["tax"] += tax
    for entry in per_currency.values():
        entry["total"] = entry["subtotal"] + entry["tax"]
    return per_invoice, per_currency


def _reference_invoice(
    record: dict[str, Any], currencies: frozenset[str], cent: Decimal
) -> tuple[Decimal, Decimal, Decimal] | None:
    """(subtotal, tax, half-even total) of a valid record; None for a rejected one."""
    customer = record.get("customer") or {}
    number = record.get("invoiceNumber")
    try:
        date.fromisoformat(record.get("issueDate") or "")
    except ValueError:
        return None
    if (
        not isinstance(number, str) or not number.strip() or len(number) > MAX_INVOICE_NUMBER
        or record.get("currency") not in currencies
        or not str(customer.get("taxId") or "").strip()
        or not str(customer.get("name") or "").strip()
        or not record.get("items")
    ):  # fmt: skip
        return None
    subtotal = tax = even = Decimal(0)
    for item in record["items"]:
        try:
            q, p, r = (Decimal(item[k]) for k in ("quantity", "unitPrice", "taxRate"))
            d = Decimal(item.get("discount") or 0)
        except (KeyError, TypeError, InvalidOperation):
            return None
        if not (0 < q < LIMIT and 0 <= p < LIMIT and 0 <= r <= 1 and 0 <= d < LIMIT):
            return None
        if d > q * p:
            return None
        net = (q * p - d).quantize(cent, ROUND_HALF_UP)
        if net >= LIMIT:
            return None
        line_tax = (net * r).quantize(cent, ROUND_HALF_UP)
        subtotal += net
        tax += line_tax
        even_net = (q * p - d).quantize(cent, ROUND_HALF_EVEN)
        even += even_net + (even_net * r).quantize(cent, ROUND_HALF_EVEN)
    return subtotal, tax, even


def verify(source: Path, *, product: bool) -> list[str]:
    """Build with the peer and compare its money with the reference; the differences."""
    with tempfile.TemporaryDirectory(prefix="peer-verify-") as work:
        dest = Path(work) / "peer.zip"
        figures = build(source, dest)
        with zipfile.ZipFile(dest) as archive:
            facturas = archive.read("facturas.csv").decode()
    expected, expected_totals = reference(source)
    problems: list[str] = []
    seen = 0
    for row in csv.DictReader(io.StringIO(facturas)):
        seen += 1
        number = row["numero_factura"]
        got = tuple(Decimal(row[k]) for k in ("subtotal", "impuesto", "total"))
        want = expected.get(number)
        if want is None or got != want[:3]:
            problems.append(f"invoice {number}: peer {got}, reference {want}")
    if seen != len(expected):
        problems.append(f"peer has {seen} invoices, reference {len(expected)}")
    for currency, want_totals in expected_totals.items():
        got_totals = figures["totals"].get(currency, {})
        for key in ("invoices", "subtotal", "tax", "total"):
            if str(got_totals.get(key)) != str(want_totals[key]):
                problems.append(
                    f"{currency} {key}: peer {got_totals.get(key)}, reference {want_totals[key]}"
                )
    if product:
        problems += _against_product(source, expected_totals)
    differ = sum(1 for want in expected.values() if want[2] != want[3])
    print(
        f"{seen:,} invoices, {figures['rejected']:,} rejected; {differ:,} invoices would differ "
        f"under half-even rounding; {len(problems)} differences from the reference",
        file=sys.stderr,
    )
    return problems


def _against_product(source: Path, expected_totals: dict[str, dict[str, Any]]) -> list[str]:
    """The product's manifest totals (one process) against the reference."""
    from reports_worker.reporttypes import build_report

    with tempfile.TemporaryDirectory(prefix="peer-product-") as work, source.open("rb") as data:
        outcome = build_report(
            "FacturacionMasiva", data, Path(work) / "p.zip", job_id="verify",
            max_input_bytes=2 << 30,
        )  # fmt: skip
    totals = outcome.manifest["totals"]
    return [
        f"product {currency} {key}: {totals.get(currency, {}).get(key)}, reference {want[key]}"
        for currency, want in expected_totals.items()
        for key in ("invoices", "subtotal", "tax", "total")
        if str(totals.get(currency, {}).get(key)) != str(want[key])
    ]


def main(argv: list[str] | None = None) -> int:
    """Build one dataset and print the figures as one JSON line, or verify the money."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("dest", type=Path, nargs="?")
    parser.add_argument("--verify", action="store_true")
    parser.add_argument("--product", action="store_true", help="with --verify: the product too")
    args = parser.parse_args(argv)
    if args.verify:
        problems = verify(args.source, product=args.product)
        for problem in problems[:20]:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    if args.dest is None:
        parser.error("DEST is required unless --verify")
    print(json.dumps(build(args.source, args.dest)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
