"""FacturacionMasiva records: their schema, the contract's rules and the per-line arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import msgspec

from .currencies import ISO_4217_CODES
from .errors import RecordRejected
from .money import MONEY_CONTEXT, ONE, ZERO, out_of_range, round_cents

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class Customer(msgspec.Struct, rename="camel", frozen=True):
    """The invoiced customer; a numeric tax id is accepted and read as text."""

    tax_id: NonEmpty | int
    name: NonEmpty
    email: str | None = None


class Item(msgspec.Struct, rename="camel", frozen=True):
    """One invoice line as sent; amounts are exact decimals."""

    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    sku: str | int | None = None
    description: str | None = None
    discount: Decimal | None = None


class Invoice(msgspec.Struct, rename="camel", frozen=True):
    """One FacturacionMasiva record (CONTRACT.md); unknown fields are ignored."""

    invoice_number: NonEmpty
    issue_date: date
    currency: str
    customer: Customer
    items: Annotated[list[Item], msgspec.Meta(min_length=1)]
    notes: str | None = None


class PricedLine(msgspec.Struct, frozen=True):
    """An item with its rounded net amount and tax."""

    item: Item
    discount: Decimal
    net: Decimal
    tax: Decimal


class PricedInvoice(msgspec.Struct, frozen=True):
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
    lines = [_price_line(number, item) for number, item in enumerate(invoice.items, start=1)]
    subtotal = sum((line.net for line in lines), ZERO)
    tax = sum((line.tax for line in lines), ZERO)
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
        hint = (
            f" (¿quiso decir {invoice.currency.upper()}?)"
            if (invoice.currency.upper() in ISO_4217_CODES)
            else ""
        )
        raise RecordRejected(
            f"currency {invoice.currency!r} no es un código ISO 4217 vigente{hint}."
        )
    if not str(invoice.customer.tax_id).strip():
        raise RecordRejected("customer.taxId está vacío.")
    if not invoice.customer.name.strip():
        raise RecordRejected("customer.name está vacío.")


def _price_line(number: int, item: Item) -> PricedLine:
    discount = ZERO if item.discount is None else item.discount
    for field, value in (
        ("quantity", item.quantity),
        ("unitPrice", item.unit_price),
        ("taxRate", item.tax_rate),
        ("discount", discount),
    ):
        problem = out_of_range(value)
        if problem:
            raise RecordRejected(f"Ítem {number}: {field} {problem}.")
    if item.quantity <= ZERO:
        raise RecordRejected(f"Ítem {number}: quantity debe ser mayor que 0 (es {item.quantity}).")
    if item.unit_price < ZERO:
        raise RecordRejected(f"Ítem {number}: unitPrice no puede ser negativo ({item.unit_price}).")
    if not ZERO <= item.tax_rate <= ONE:
        raise RecordRejected(f"Ítem {number}: taxRate debe estar entre 0 y 1 (es {item.tax_rate}).")
    if discount < ZERO:
        raise RecordRejected(f"Ítem {number}: discount no puede ser negativo ({discount}).")
    gross = MONEY_CONTEXT.multiply(item.quantity, item.unit_price)
    if discount > gross:
        raise RecordRejected(
            f"Ítem {number}: discount ({discount}) supera quantity × unitPrice ({gross})."
        )
    net = round_cents(MONEY_CONTEXT.subtract(gross, discount))
    if out_of_range(net):
        raise RecordRejected(f"Ítem {number}: el importe de la línea es demasiado grande.")
    tax = round_cents(MONEY_CONTEXT.multiply(net, item.tax_rate))
    return PricedLine(item=item, discount=discount, net=net, tax=tax)
