"""FacturacionMasiva records: their schema, the contract's rules and the per-line arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, Inexact, InvalidOperation
from typing import Annotated

import msgspec

from .currencies import ISO_4217_CODES
from .errors import RecordRejected
from .money import EXACT_CONTEXT, MAX_AMOUNT, ONE, ZERO, round_cents

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class Customer(msgspec.Struct, rename="camel", frozen=True, gc=False):
    """The invoiced customer; a numeric tax id is accepted and read as text."""

    tax_id: NonEmpty | int
    name: NonEmpty
    email: str | None = None


class Item(msgspec.Struct, rename="camel", frozen=True, gc=False):
    """One invoice line as sent; amounts are exact decimals."""

    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    sku: str | int | None = None
    description: str | None = None
    discount: Decimal | None = None


class Invoice(msgspec.Struct, rename="camel", frozen=True, gc=False):
    """One FacturacionMasiva record (CONTRACT.md); unknown fields are ignored."""

    invoice_number: NonEmpty
    issue_date: date
    currency: str
    customer: Customer
    items: Annotated[list[Item], msgspec.Meta(min_length=1)]
    notes: str | None = None


class PricedLine(msgspec.Struct, frozen=True, gc=False):
    """An item with its rounded net amount and tax."""

    item: Item
    discount: Decimal
    net: Decimal
    tax: Decimal


class PricedInvoice(msgspec.Struct, frozen=True, gc=False):
    """A valid invoice with its lines priced and its totals."""

    invoice: Invoice
    tax_id: str
    lines: list[PricedLine]
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def price_invoice(invoice: Invoice) -> PricedInvoice:
    """Check the contract's rules and price every line; RecordRejected says what is wrong."""
    _check_header(invoice)
    lines = []
    subtotal = tax = ZERO
    try:
        for number, item in enumerate(invoice.items, start=1):
            line = _price_line(number, item)
            lines.append(line)
            subtotal += line.net
            tax += line.tax
    except (InvalidOperation, Inexact):  # NaN compared, or more digits than exact math holds
        raise RecordRejected(
            f"Ítem {len(lines) + 1}: un importe no es un número finito o tiene demasiados dígitos."
        ) from None
    return PricedInvoice(
        invoice=invoice,
        tax_id=str(invoice.customer.tax_id).strip(),
        lines=lines,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
    )


def _check_header(invoice: Invoice) -> None:
    if not invoice.invoice_number.strip():
        raise RecordRejected("invoiceNumber está vacío.")
    if invoice.currency not in ISO_4217_CODES:
        upper = invoice.currency.upper()
        hint = f" (¿quiso decir {upper}?)" if upper in ISO_4217_CODES else ""
        raise RecordRejected(
            f"currency {invoice.currency!r} no es un código ISO 4217 vigente{hint}."
        )
    if not str(invoice.customer.tax_id).strip():
        raise RecordRejected("customer.taxId está vacío.")
    if not invoice.customer.name.strip():
        raise RecordRejected("customer.name está vacío.")


def _price_line(number: int, item: Item) -> PricedLine:
    quantity, price, rate = item.quantity, item.unit_price, item.tax_rate
    discount = ZERO if item.discount is None else item.discount
    # Comparisons first: they are cheap, and NaN makes them raise InvalidOperation.
    if not ZERO < quantity < MAX_AMOUNT:
        raise RecordRejected(_bad(number, "quantity", quantity, "debe ser mayor que 0"))
    if not ZERO <= price < MAX_AMOUNT:
        raise RecordRejected(_bad(number, "unitPrice", price, "no puede ser negativo"))
    if not ZERO <= rate <= ONE:
        raise RecordRejected(_bad(number, "taxRate", rate, "debe estar entre 0 y 1"))
    if not ZERO <= discount < MAX_AMOUNT:
        raise RecordRejected(_bad(number, "discount", discount, "no puede ser negativo"))
    gross = EXACT_CONTEXT.multiply(quantity, price)
    if discount > gross:
        raise RecordRejected(
            f"Ítem {number}: discount ({discount}) supera quantity × unitPrice ({gross})."
        )
    net = round_cents(EXACT_CONTEXT.subtract(gross, discount))
    if net >= MAX_AMOUNT:
        raise RecordRejected(f"Ítem {number}: el importe de la línea es demasiado grande.")
    return PricedLine(item, discount, net, round_cents(EXACT_CONTEXT.multiply(net, rate)))


def _bad(number: int, field: str, value: Decimal, rule: str) -> str:
    if value >= MAX_AMOUNT:
        return f"Ítem {number}: {field} es demasiado grande (máximo 999.999.999.999.999)."
    return f"Ítem {number}: {field} {rule} (es {value})."
