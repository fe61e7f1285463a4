"""FacturacionMasiva: invoices to a summary workbook, invoice and line CSVs, and errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import ClassVar

from ...building.context import BuildContext, BuildResult
from ...errors import RecordRejected
from ...formats.columns import CellKind, Column
from ...formats.csv import CSV_DIALECTS, CsvFields, CsvTable
from ...formats.xlsx.spreadsheetml import open_workbook
from ...formats.xlsx.widths import display_width, fitted_widths
from ...formats.xlsx.workbook import EXCEL_MAX_TEXT, SheetWriter, long_texts, long_texts_notice
from ...input.decoding import Rejector
from ..reporttype import BatchedReport, SpreadsheetReport
from ._lines import Lines
from .invoices import (
    Invoice,
    LeanInvoice,
    PricedInvoice,
    checked_header,
    price_invoice,
    with_items,
)
from .money import MONEY_CONTEXT, ZERO
from .totals import InvoiceTotals

#: What heads every printed page of the workbook (with the sheet's name).
WORKBOOK_TITLE = "Facturación masiva"
INVOICE_COLUMNS = (
    Column("numero_factura", "N° de factura", "text", 18),
    Column("fecha_emision", "Fecha de emisión", "date", 12),
    Column("moneda", "Moneda", "text", 8),
    Column("cliente_id_tributario", "RUC/DNI del cliente", "text", 15),
    Column("cliente_nombre", "Cliente", "text", 36),
    Column("cliente_correo", "Correo del cliente", "text", 28),
    Column("items", "Ítems", "integer", 7),
    Column("subtotal", "Subtotal", "amount", 14),
    Column("impuesto", "Impuesto", "amount", 14),
    Column("total", "Total", "amount", 14),
)
_AMOUNT_COLUMNS = [n for n, column in enumerate(INVOICE_COLUMNS) if column.kind == "amount"]
LINE_COLUMNS = (
    Column("numero_factura", "N° de factura", "text"),
    Column("linea", "Línea", "integer"),
    Column("sku", "SKU", "text"),
    Column("descripcion", "Descripción", "text"),
    Column("cantidad", "Cantidad", "decimal"),
    Column("precio_unitario", "Precio unitario", "decimal"),
    Column("descuento", "Descuento", "decimal"),
    Column("tasa_impuesto", "Tasa de impuesto", "decimal"),
    Column("importe_neto", "Importe neto", "amount"),
    Column("impuesto", "Impuesto", "amount"),
)


#: A row of the Facturas sheet: number, date, currency, tax id, name, email, lines, amounts.
InvoiceRow = tuple[str, date, str, str, str, str | None, int, Decimal, Decimal, Decimal]


def invoice_row(priced: PricedInvoice) -> InvoiceRow:
    """The invoice's row in the Facturas sheet (and, formatted, in ``facturas.csv``)."""
    invoice = priced.invoice
    customer = invoice.customer
    return (
        invoice.invoice_number,
        invoice.issue_date,
        invoice.currency,
        priced.tax_id,
        customer.name,
        customer.email,
        priced.line_count,
        priced.subtotal,
        priced.tax,
        priced.total,
    )


class InvoiceLines:
    """Renders an invoice's lines of ``facturas_detalle.csv`` priced in decimal.

    These two files, ``facturas.csv`` and ``facturas_detalle.csv``, are most of a build's
    output: their lines are rendered in C (``_lines.c``), not through ``csv.writer``.
    The detail lines of the invoices it leaves (numbers with exponents, more digits than
    128 bits hold, refused lines) are priced in decimal and rendered here, to the same text.
    """

    def __init__(self, fields: CsvFields) -> None:
        self._fields = fields

    def details(self, priced: PricedInvoice, number_field: str, sums: Lines) -> str:
        """The invoice's lines in ``facturas_detalle.csv``; each line is also added to its
        tax rate's sums in ``sums``."""
        text, numbers, sep = (
            self._fields.repeated_text,
            self._fields.numbers,
            self._fields.delimiter,
        )
        code = priced.invoice.currency
        out: list[str] = []
        append = out.append
        for position, line in enumerate(priced.lines, start=1):
            item, net, tax = line.item, line.net, line.tax
            rate = item.tax_rate
            sums.add(code, rate, net, tax)
            append(
                f"{number_field}{sep}{position}{sep}{text(item.sku)}{sep}"
                f"{text(item.description)}{sep}"
                + numbers((item.quantity, item.unit_price, line.discount, rate, net, tax))
                + "\r\n"
            )
        return "".join(out)


@dataclass(slots=True)
class InvoicePart:
    """A batch of invoices rendered: sheet rows, CSV text and their totals."""

    rows: list[object]
    #: Lines of ``facturas.csv`` and ``facturas_detalle.csv``, encoded (UTF-8) as written.
    invoices: bytes
    details: bytes
    totals: InvoiceTotals
    #: The batch's largest invoice total: no amount of its rows is wider.
    widest: Decimal
    #: Texts of its rows longer than a cell holds (the workbook cuts them).
    long_texts: int


class FacturacionMasiva(SpreadsheetReport, BatchedReport):
    """Mass invoicing: totals per invoice, per currency and per tax rate, exact to the cent."""

    name: ClassVar[str] = "FacturacionMasiva"
    display_name: ClassVar[str | None] = "Facturación masiva"
    description: ClassVar[str] = (
        "Facturación masiva: libro Excel con resumen y facturas, CSV de facturas y de "
        "líneas, y la lista de registros rechazados con su motivo."
    )
    record_schema: ClassVar[type[LeanInvoice]] = LeanInvoice
    strict_schema: ClassVar[type[Invoice]] = Invoice
    file_stem: ClassVar[str] = "reporte_facturacion"
    reference_field: ClassVar[str | None] = "invoiceNumber"

    def render(self, records: Iterator[tuple[int, LeanInvoice]], rejected: Rejector) -> InvoicePart:
        """Price every invoice of a batch and render its sheet row and CSV lines."""
        fields = CsvFields(CSV_DIALECTS[self.options["csvDialect"]])
        render, number_text = InvoiceLines(fields), fields.text
        sums = Lines(fields.delimiter, fields.decimal_comma, Decimal)
        prepare = self.workbook_engine.row_preparer(INVOICE_COLUMNS)
        totals = InvoiceTotals()
        rows: list[object] = []
        invoices: list[bytes] = []
        details: list[bytes] = []
        widest = ZERO
        cut = 0
        # The batch's invoices priced at once, by C without the GIL (the threads deflating
        # the files go on meanwhile); each one's result is taken in its turn below.
        decoded = list(records)
        numbers = [number_text(invoice.invoice_number) for _, invoice in decoded]
        sums.price_all([invoice.items for _, invoice in decoded], numbers)
        # 80 digits: sums over millions of invoices never round.
        with localcontext(MONEY_CONTEXT):
            for index, (position, invoice) in enumerate(decoded):
                try:
                    tax_id = checked_header(invoice)
                    number_field = numbers[index]
                    priced_here = sums.take(index, invoice.currency)
                    if priced_here is None:  # decimal prices it, or says what is wrong
                        priced = price_invoice(with_items(invoice))
                        lines = render.details(priced, number_field, sums).encode()
                    else:
                        lines, subtotal, tax, total, count = priced_here
                        priced = PricedInvoice(invoice, tax_id, [], subtotal, tax, total, count)
                except RecordRejected as exc:
                    rejected.reject(position, exc.reason, invoice.invoice_number)
                    continue
                totals.add(priced)
                widest = max(widest, priced.total)
                row = invoice_row(priced)
                rows.append(prepare(row))
                # facturas.csv holds the row's fields, its number rendered as CSV text.
                line = sums.invoice(number_field, *row[1:])
                invoices.append(line)
                # The CSV line holds the row's texts whole (and has no fewer bytes than they
                # have characters): only a long line can hold a text longer than a cell.
                if len(line) > EXCEL_MAX_TEXT:
                    cut += long_texts(row)
                details.append(lines)
        totals.add_rates(sums.rates())
        return InvoicePart(rows, b"".join(invoices), b"".join(details), totals, widest, cut)

    def assemble(self, parts: Iterator[InvoicePart], context: BuildContext) -> BuildResult:
        """Write the batches' rows and lines, then the summary sheet."""
        files, dialect = context.files, context.csv_dialect
        totals = InvoiceTotals()
        with ExitStack() as stack:
            stack.enter_context(localcontext(MONEY_CONTEXT))
            book = open_workbook(
                files.path("facturas.xlsx", compress=False),
                title=WORKBOOK_TITLE,
                row_limit=self.sheet_row_limit,
                engine=self.workbook_engine,
            )
            stack.callback(book.close)
            summary = book.sheet("Resumen")
            sheet = book.table("Facturas", INVOICE_COLUMNS)
            # Both deflated by threads of their own as they are written.
            invoices = stack.enter_context(
                CsvTable(files.stream("facturas.csv"), INVOICE_COLUMNS, dialect)
            )
            lines = stack.enter_context(
                CsvTable(files.stream("facturas_detalle.csv"), LINE_COLUMNS, dialect)
            )
            widest = ZERO
            cut = 0
            for part in parts:
                totals.merge(part.totals)
                cut += part.long_texts
                if part.widest > widest:
                    # Wide enough for every amount, which would print as ### otherwise.
                    widest = part.widest
                    width = display_width(widest, "amount")
                    sheet.widen(dict.fromkeys(_AMOUNT_COLUMNS, width))
                sheet.append_prepared(part.rows)
                invoices.write_encoded(part.invoices)
                lines.write_encoded(part.details)
            sheet.close()
            notice = long_texts_notice(cut, "facturas.xlsx", "facturas.csv")
            write_summary(summary, totals, context, sheets=sheet.sheets, notice=notice)
        return BuildResult(
            records_processed=totals.invoices,
            totals=totals.manifest(),
            notes=(notice,) if notice else (),
        )


def write_summary(
    out: SheetWriter,
    totals: InvoiceTotals,
    context: BuildContext,
    *,
    sheets: int,
    notice: str | None = None,
) -> None:
    """The Resumen sheet: counts, totals per currency and per tax rate, dates, parameters.

    No job id: a cached workbook is served to other jobs (the ZIP's manifest and file name
    name each one's own job, shared/reports_shared/reportcopy.py).
    """
    options = ", ".join(f"{name}={value}" for name, value in sorted(context.options.items()))
    facts: tuple[tuple[str, object, CellKind], ...] = (
        ("Generado (UTC)", context.generated_at, "datetime"),
        ("Parámetros", options, "text"),
        ("Facturas procesadas", totals.invoices, "integer"),
        ("Registros rechazados (ver errores.csv)", context.rejections.count, "integer"),
        ("Líneas de detalle", totals.lines, "integer"),
        ("Hojas de facturas", sheets, "integer"),
        ("Primera fecha de emisión", totals.first_date, "date"),
        ("Última fecha de emisión", totals.last_date, "date"),
    )
    currency_header = ["Moneda", "Facturas", "Subtotal", "Impuesto", "Total"]
    currency_kinds: list[CellKind] = ["text", "integer", "amount", "amount", "amount"]
    currency_rows = [
        [code, sums.invoices, sums.subtotal, sums.tax, sums.total]
        for code, sums in sorted(totals.by_currency.items())
    ]
    rate_header = ["Moneda", "Tasa", "Líneas", "Base imponible", "Impuesto"]
    rate_kinds: list[CellKind] = ["text", "percent", "integer", "amount", "amount"]
    rate_rows = [
        [code, rate, sums.lines, sums.net, sums.tax]
        for (code, rate), sums in sorted(totals.by_rate.items())
    ]
    # Every value shown whole (a number too narrow prints as ###), and only as wide as
    # that, so the sheet fits one page's width at a readable size.
    texts: list[CellKind] = ["text"] * 5
    out.set_widths(
        fitted_widths(
            [
                *(([label], texts[:1], True) for label, _, _ in facts),
                *(([None, value], [texts[0], kind], False) for _, value, kind in facts),
                (currency_header, texts, True),
                (rate_header, texts, True),
                *((row, currency_kinds, False) for row in currency_rows),
                *((row, rate_kinds, False) for row in rate_rows),
            ],
            minimum={0: 10, 1: 12, 2: 14, 3: 14, 4: 14},
        )
    )
    out.write_styled(["Resumen de facturación masiva"], "title")
    out.skip()
    for label, value, kind in facts:
        out.write_labelled(label, value, kind)
    if notice:  # past the fitted widths: it may run over the next cells, as text does
        out.write_labelled("Aviso", notice, "text")
    out.skip()
    out.write_styled(["Totales por moneda"], "label")
    out.write_styled(currency_header, "header")
    for row in currency_rows:
        out.write_cells(row, currency_kinds)
    out.skip()
    out.write_styled(["Totales por tasa de impuesto"], "label")
    out.write_styled(rate_header, "header")
    for row in rate_rows:
        out.write_cells(row, rate_kinds)
