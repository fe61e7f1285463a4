"""The worker's C extensions against the Python each one is held to, on one dataset.

    uv run --group bench python bench/bench_native.py FILE [--repeat 3]

FILE is a FacturacionMasiva dataset (a JSON array; ``bench_e2e.py`` generates them in
/tmp/async-reports-bench-e2e). Each figure is the CPU time (``time.process_time``) of one
pass over the whole dataset, best and worst of ``--repeat`` rounds, the two sides of a
pair run in turn:

* reading and cutting the payload into batches (``Payload.batches``: the C scanner);
* decoding the whole payload with msgspec as a build does, each invoice's items left as
  their JSON (``LeanInvoice``), against items decoded into Structs and Decimals
  (``Invoice``), the freeing of the objects included;
* the invoices' lines read from their JSON, priced and rendered, a batch at a time
  (``_lines.Lines.price_all`` and ``take``)
  against msgspec, decimal and the Python renderer (``with_items`` + ``price_invoice`` +
  ``InvoiceLines.details``), which take the invoices C leaves;
* the invoice sheet's rows (``RowTemplate.render``: ``_rows.fill``) against the generic
  renderer (``render_row``), which renders the rows the template leaves.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path

import msgspec

from reports_worker.formats.csv import CSV_DIALECTS, CsvFields
from reports_worker.formats.xlsx.sheetcells import ROW_MARK, RowTemplate, render_row
from reports_worker.formats.xlsx.spreadsheetparts import column_letter
from reports_worker.input.payload import Payload
from reports_worker.reporttypes.facturacion._lines import Lines
from reports_worker.reporttypes.facturacion.invoices import (
    Invoice,
    LeanInvoice,
    price_invoice,
    with_items,
)
from reports_worker.reporttypes.facturacion.money import MONEY_CONTEXT
from reports_worker.reporttypes.facturacion.report import (
    INVOICE_COLUMNS,
    InvoiceLines,
    invoice_row,
)

#: Invoices priced at once: about a batch of this dataset (a build cuts ~1 MB of payload).
BATCH = 1_000


def _cpu(work: Callable[[], object]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def main() -> None:
    """Print the figures of each pair."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    def cut() -> None:
        with args.file.open("rb") as source:
            for _ in Payload(source, max_input_bytes=1 << 31).batches():
                pass

    data = args.file.read_bytes()
    lean = msgspec.json.Decoder(list[LeanInvoice], float_hook=Decimal)
    whole = msgspec.json.Decoder(list[Invoice], float_hook=Decimal)
    invoices = lean.decode(data)
    fields = CsvFields(CSV_DIALECTS["rfc4180"])

    def lines_in_c() -> None:
        for start in range(0, len(invoices), BATCH):  # a build's batches, each its own Lines
            lines = Lines(fields.delimiter, fields.decimal_comma, Decimal)
            batch = invoices[start : start + BATCH]
            lines.price_all([invoice.items for invoice in batch], ["F"] * len(batch))
            for index, invoice in enumerate(batch):
                lines.take(index, invoice.currency)

    def lines_in_python() -> None:
        lines, render = Lines(fields.delimiter, fields.decimal_comma, Decimal), InvoiceLines(fields)
        for invoice in invoices:
            render.details(price_invoice(with_items(invoice)), "F", lines)

    kinds = [column.kind for column in INVOICE_COLUMNS]
    letters = [column_letter(col) for col in range(len(kinds))]
    template = RowTemplate(kinds, letters)
    with localcontext(MONEY_CONTEXT):
        priced = [price_invoice(with_items(invoice)) for invoice in invoices]
        rows = [invoice_row(invoice) for invoice in priced]

    def rows_in_c() -> None:
        for row in rows:
            template.render(ROW_MARK, row)

    def rows_generic() -> None:
        for row in rows:
            render_row(ROW_MARK, row, kinds, letters)

    pairs = [
        ("reading and cutting the payload", cut, None),
        (
            "decoding: items raw | items as Structs",
            lambda: lean.decode(data),
            lambda: whole.decode(data),
        ),
        ("invoice lines: C from JSON | msgspec + decimal + Python", lines_in_c, lines_in_python),
        ("sheet rows: C template | generic", rows_in_c, rows_generic),
    ]
    lines_count = sum(invoice.line_count for invoice in priced)
    print(f"{args.file.name}: {len(invoices):,} invoices, {lines_count:,} lines")
    with localcontext(MONEY_CONTEXT):
        for label, first, second in pairs:
            a, b = [], []
            for _ in range(args.repeat):
                a.append(_cpu(first))
                if second is not None:
                    b.append(_cpu(second))
            figure = f"{min(a) * 1000:.0f}-{max(a) * 1000:.0f} ms"
            if b:
                figure += f" | {min(b) * 1000:.0f}-{max(b) * 1000:.0f} ms"
            print(f"{label}: {figure}")


if __name__ == "__main__":
    main()
