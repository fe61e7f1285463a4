"""FacturacionMasiva records: their schema, the contract's rules and the per-line arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, Inexact, InvalidOperation
from typing import Annotated

import msgspec

from ...errors import RecordRejected
from ...input.decoding import TOO_DEEP, spanish_reason
from .currencies import ISO_4217_CODES
from .money import CENT, EXACT_CONTEXT, MAX_AMOUNT, MAX_DECIMAL_PLACES, MONEY_CONTEXT, ONE, ZERO

#: Exact arithmetic: a result with more digits than the context holds raises Inexact.
multiply, subtract, add = EXACT_CONTEXT.multiply, EXACT_CONTEXT.subtract, EXACT_CONTEXT.add

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
#: The invoice number is repeated on each of its lines in ``facturas_detalle.csv``: a
#: bound on its length bounds what a line costs (real numbers, F001-00012345, are short).
MAX_INVOICE_NUMBER = 100
InvoiceNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_INVOICE_NUMBER)]
#: ``Decimal.adjusted()`` of the smallest nonzero amount accepted (the cheap test of it).
_MIN_ADJUSTED = -MAX_DECIMAL_PLACES


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


Items = Annotated[list[Item], msgspec.Meta(min_length=1)]


class _InvoiceHead(msgspec.Struct, rename="camel", frozen=True, gc=False):
    """The fields an invoice has before its items, in both of its schemas below."""

    invoice_number: InvoiceNumber
    issue_date: date
    currency: str
    customer: Customer


class Invoice(_InvoiceHead, rename="camel", frozen=True, gc=False):
    """One FacturacionMasiva record (CONTRACT.md); unknown fields are ignored."""

    items: Items
    notes: str | None = None


class LeanInvoice(_InvoiceHead, rename="camel", frozen=True, gc=False):
    """An invoice as a build decodes it: every field checked as :class:`Invoice` checks it
    but the items, left as their JSON for ``_lines.c`` to read, price and render at once.

    msgspec building an Item and four Decimals for every line, and freeing them, was most
    of the decoding's time; :func:`with_items` decodes the items as :class:`Invoice` would
    for an invoice C leaves (a rare amount, or one to reject).
    """

    items: msgspec.Raw
    notes: str | None = None


_items = msgspec.json.Decoder(Items, float_hook=Decimal)


class PricedLine(msgspec.Struct, frozen=True, gc=False):
    """An item with its rounded net amount and tax."""

    item: Item
    discount: Decimal
    net: Decimal
    tax: Decimal


class PricedInvoice(msgspec.Struct, frozen=True, gc=False):
    """A valid invoice with its totals, and its lines priced (empty when they were priced
    and rendered in C, ``_lines.c``); ``line_count`` counts them either way."""

    invoice: Invoice | LeanInvoice
    tax_id: str
    lines: list[PricedLine]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    line_count: int


def with_items(invoice: LeanInvoice) -> Invoice:
    """``invoice`` with its items decoded; RecordRejected names the first that misfits as
    decoding the whole record would (its other fields fit: they were decoded)."""
    try:
        items = _items.decode(invoice.items)
    except msgspec.ValidationError as exc:
        raise RecordRejected(spanish_reason(_within_items(str(exc)))) from None
    except RecursionError:
        raise RecordRejected(TOO_DEEP) from None
    return Invoice(**{**msgspec.structs.asdict(invoice), "items": items})


def _within_items(message: str) -> str:
    """msgspec's message about the items alone, as it reads about the whole record."""
    head, at, path = message.rpartition(" - at `$")
    return f"{head}{at}.items{path}" if at else f"{message} - at `$.items`"


def checked_header(invoice: LeanInvoice) -> str:
    """:func:`check_header`, except that a misfit among the items, which decoding the whole
    record finds first, is the reason given."""
    try:
        return check_header(invoice)
    except RecordRejected:
        with_items(invoice)
        raise


def price_invoice(invoice: Invoice) -> PricedInvoice:
    """Check the contract's rules and price every line; RecordRejected says what is wrong."""
    tax_id = check_header(invoice)
    lines: list[PricedLine] = []
    try:
        subtotal, tax = _price_lines(invoice.items, lines)
    except (InvalidOperation, Inexact):  # NaN, or more digits than exact math holds
        raise RecordRejected(
            f"Ítem {len(lines) + 1}: un importe no es un número finito o tiene demasiados dígitos."
        ) from None
    return PricedInvoice(invoice, tax_id, lines, subtotal, tax, add(subtotal, tax), len(lines))


def _price_lines(items: list[Item], lines: list[PricedLine]) -> tuple[Decimal, Decimal]:
    """Append each item, priced, to ``lines`` (which tells how far it got on an error).

    Returns the sums of the lines' net amounts and taxes. This loop is a large part of a
    build's time: the context's methods and quantize's positional form skip the lookups
    of the operators and of keyword arguments.
    """
    subtotal = tax = ZERO
    for item in items:
        quantity, price, rate, discount = (
            item.quantity,
            item.unit_price,
            item.tax_rate,
            item.discount,
        )
        if discount is None:
            discount = ZERO
        # One combined check keeps the common case fast; _line_problem says which rule
        # broke. NaN makes a comparison raise InvalidOperation. adjusted() is the
        # exponent of the first digit (a zero's own exponent): the magnitude bound.
        if not (
            ZERO < quantity < MAX_AMOUNT
            and ZERO <= price < MAX_AMOUNT
            and ZERO <= rate <= ONE
            and ZERO <= discount < MAX_AMOUNT
            and min(quantity.adjusted(), price.adjusted(), rate.adjusted(), discount.adjusted())
            >= _MIN_ADJUSTED
        ):
            raise RecordRejected(_line_problem(len(lines) + 1, item))
        gross = multiply(quantity, price)
        if discount:
            if discount > gross:
                raise RecordRejected(
                    f"Ítem {len(lines) + 1}: discount ({discount}) supera "
                    f"quantity × unitPrice ({gross})."
                )
            gross = subtract(gross, discount)
        net = gross.quantize(CENT, ROUND_HALF_UP, MONEY_CONTEXT)
        if net >= MAX_AMOUNT:
            raise RecordRejected(
                f"Ítem {len(lines) + 1}: el importe de la línea es demasiado grande."
            )
        line_tax = multiply(net, rate).quantize(CENT, ROUND_HALF_UP, MONEY_CONTEXT)
        lines.append(PricedLine(item, discount, net, line_tax))
        subtotal = add(subtotal, net)
        tax = add(tax, line_tax)
    return subtotal, tax


def check_header(invoice: Invoice | LeanInvoice) -> str:
    """The customer's tax id as text, once the invoice's own fields are checked."""
    if not invoice.invoice_number.strip():
        raise RecordRejected("invoiceNumber está vacío.")
    if invoice.currency not in ISO_4217_CODES:
        upper = invoice.currency.upper()
        hint = f" (¿quiso decir {upper}?)" if upper in ISO_4217_CODES else ""
        raise RecordRejected(
            f"currency {invoice.currency!r} no es un código ISO 4217 vigente{hint}."
        )
    tax_id = str(invoice.customer.tax_id).strip()
    if not tax_id:
        raise RecordRejected("customer.taxId está vacío.")
    if not invoice.customer.name.strip():
        raise RecordRejected("customer.name está vacío.")
    return tax_id


def _line_problem(number: int, item: Item) -> str:
    """Which rule item ``number`` breaks (it is known to break one of these)."""
    discount = ZERO if item.discount is None else item.discount
    for field, value, ok, rule in (
        ("quantity", item.quantity, item.quantity > ZERO, "debe ser mayor que 0"),
        ("unitPrice", item.unit_price, item.unit_price >= ZERO, "no puede ser negativo"),
        ("taxRate", item.tax_rate, ZERO <= item.tax_rate <= ONE, "debe estar entre 0 y 1"),
        ("discount", discount, discount >= ZERO, "no puede ser negativo"),
    ):
        if not ok:
            return f"Ítem {number}: {field} {rule} (es {value})."
        if value >= MAX_AMOUNT:
            return f"Ítem {number}: {field} es demasiado grande (máximo 999.999.999.999.999)."
        if value.adjusted() < _MIN_ADJUSTED:
            return (
                f"Ítem {number}: {field} es demasiado pequeño o tiene demasiados decimales "
                f"(es {value}); se admiten hasta {MAX_DECIMAL_PLACES} decimales."
            )
    return f"Ítem {number}: un importe está fuera de rango."
