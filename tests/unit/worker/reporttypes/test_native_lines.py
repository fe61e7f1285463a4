"""Invoice lines priced and rendered in C (``_lines.c``) against decimal and the Python
renderer: the same text, the same amounts, the same sums per rate, or no answer at all."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal, localcontext

import pytest

from reports_shared.errors import ReportsError
from reports_worker.errors import RecordRejected
from reports_worker.formats.csv import CSV_DIALECTS, CsvFields
from reports_worker.reporttypes.facturacion._lines import Lines
from reports_worker.reporttypes.facturacion.invoices import (
    Customer,
    Invoice,
    Item,
    price_invoice,
)
from reports_worker.reporttypes.facturacion.money import MONEY_CONTEXT
from reports_worker.reporttypes.facturacion.report import InvoiceLines

TEXTS: list[str | None] = [
    None, "", "A-1", "ñandú", "con, coma", "con; punto y coma", 'con "comillas"', "=1+2",
    "+51", "-3", "@SUM", "\ttab", "línea\r\nnueva", "\x00nul", "emoji 🎉", " espacio ",
]  # fmt: skip
RATES = ["0.18", "0.180", "0", "1", "1.00", "0.0825", "0.5", "1.01", "-0.18", "0.105"]


def _number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.06:
        return rng.choice(["1E+2", "5E-3", "-0", "0.000", "1e-25", "-1", "NaN", "0E-30"])
    if kind < 0.12:  # near the bounds: 15 integer digits, 20 decimals
        whole = str(rng.randint(0, 10**15 - 1)) if rng.random() < 0.5 else "0"
        return whole + "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 20)))
    if kind < 0.14:
        return str(10**15)
    whole = str(rng.randint(0, 10 ** rng.randint(1, 6)))
    decimals = rng.randint(0, 4)
    if decimals == 0:
        return whole
    return whole + "." + "".join(rng.choice("0123456789") for _ in range(decimals - 1)) + "5"


def _item(rng: random.Random) -> Item:
    discount = rng.random()
    return Item(
        quantity=Decimal(_number(rng)),
        unit_price=Decimal(_number(rng)),
        tax_rate=Decimal(rng.choice(RATES)),
        sku=rng.choice([*TEXTS, 7, -12, 10**20]),
        description=rng.choice(TEXTS),
        discount=None if discount < 0.5 else Decimal(_number(rng) if discount < 0.8 else "0.01"),
    )


def _invoice(rng: random.Random) -> Invoice:
    return Invoice(
        invoice_number="F-1",
        issue_date=date(2026, 12, 6),
        currency=rng.choice(["PEN", "USD"]),
        customer=Customer(tax_id="20100047218", name="Cliente"),
        items=[_item(rng) for _ in range(rng.randint(1, 4))],
    )


@pytest.mark.parametrize("dialect", sorted(CSV_DIALECTS))
@pytest.mark.parametrize("seed", range(3))
def test_c_lines_match_decimal_and_the_python_renderer(dialect: str, seed: int) -> None:
    # given random invoices: ordinary amounts, halves, bounds, exponents, signs, bad rates
    rng = random.Random(seed)
    fields = CsvFields(CSV_DIALECTS[dialect])
    native = Lines(fields.delimiter, fields.decimal_comma, Decimal)
    reference = Lines(fields.delimiter, fields.decimal_comma, Decimal)
    left = Lines(fields.delimiter, fields.decimal_comma, Decimal)
    answered = 0
    with localcontext(MONEY_CONTEXT):
        for _ in range(3_000):
            invoice = _invoice(rng)
            number = fields.text(invoice.invoice_number)

            # when C prices it
            got = native.price(invoice.items, number, invoice.currency)

            # then decimal prices it too, to the same text and amounts; and an invoice
            # that C leaves and decimal takes is rendered and summed in Python
            if got is None:
                try:
                    priced = price_invoice(invoice)
                except (RecordRejected, ReportsError):
                    continue
                InvoiceLines(fields).details(priced, number, left)
                continue
            answered += 1
            try:
                priced = price_invoice(invoice)
            except (RecordRejected, ReportsError) as exc:
                pytest.fail(f"C priced an invoice decimal refuses ({exc}): {invoice}")
            text = InvoiceLines(fields).details(priced, number, reference)
            assert got[0] == text, invoice
            assert [str(amount) for amount in got[1:]] == [
                str(priced.subtotal),
                str(priced.tax),
                str(priced.total),
            ], invoice

    # and the sums per currency and rate agree, rate spellings included
    assert native.rates() == reference.rates()
    assert [(code, str(rate)) for code, rate, *_ in native.rates()] == [
        (code, str(rate)) for code, rate, *_ in reference.rates()
    ]
    assert answered > 600  # a third of these random invoices are the common case


def test_an_invoice_c_leaves_adds_nothing_to_the_sums() -> None:
    # given an invoice whose second line has a discount larger than the line
    native = Lines(",", False, Decimal)
    items = [
        Item(Decimal("1"), Decimal("10"), Decimal("0.18")),
        Item(Decimal("1"), Decimal("1"), Decimal("0.05"), discount=Decimal("2")),
    ]

    # when / then it is left to decimal, and no rate is counted
    assert native.price(items, "F-1", "PEN") is None
    assert native.rates() == []


def test_rounding_is_half_up_to_the_cent() -> None:
    native = Lines(",", False, Decimal)
    items = [
        Item(Decimal("1"), Decimal("2.675"), Decimal("0.5")),
        Item(Decimal("1"), Decimal("0.005"), Decimal("1")),
    ]
    got = native.price(items, "F-1", "PEN")
    assert got is not None
    assert got[0] == "F-1,1,,,1,2.675,0,0.5,2.68,1.34\r\nF-1,2,,,1,0.005,0,1,0.01,0.01\r\n"
    assert got[1:] == (Decimal("2.69"), Decimal("1.35"), Decimal("4.04"))


def _reference_invoice_line(
    fields: CsvFields, number: str, invoice: Invoice, amounts: list[Decimal]
) -> str:
    """The line of facturas.csv as the Python renderer wrote it before it moved to C."""
    text, sep, customer = fields.text, fields.delimiter, invoice.customer
    return (
        f"{number}{sep}{invoice.issue_date.isoformat()}{sep}{invoice.currency}{sep}"
        f"{text(str(customer.tax_id).strip())}{sep}{text(customer.name)}{sep}"
        f"{text(customer.email)}{sep}{len(invoice.items)}{sep}{fields.numbers(amounts)}\r\n"
    )


@pytest.mark.parametrize("dialect", sorted(CSV_DIALECTS))
def test_the_invoice_line_matches_the_python_renderer(dialect: str) -> None:
    rng = random.Random(dialect)
    fields = CsvFields(CSV_DIALECTS[dialect])
    native = Lines(fields.delimiter, fields.decimal_comma, Decimal)
    for _ in range(3_000):
        names = [text for text in TEXTS if text]
        tax_ids: list[str | int] = [*names, 20100047218, -5]
        invoice = Invoice(
            invoice_number=rng.choice(names),
            issue_date=date(
                rng.choice([1, 999, 2026, 9999]), rng.randint(1, 12), rng.randint(1, 28)
            ),
            currency=rng.choice(["PEN", "USD"]),
            customer=Customer(
                tax_id=rng.choice(tax_ids),
                name=rng.choice(names),
                email=rng.choice(TEXTS),
            ),
            items=[_item(rng) for _ in range(rng.randint(1, 3))],
        )
        amounts = [Decimal(rng.randint(0, 10**20)).scaleb(-2) for _ in range(3)]
        number = fields.text(invoice.invoice_number)
        tax_id = str(invoice.customer.tax_id).strip()
        customer = invoice.customer
        got = native.invoice(
            number, invoice.issue_date, invoice.currency, tax_id, customer.name,
            customer.email, len(invoice.items), *amounts,
        )  # fmt: skip
        assert got == _reference_invoice_line(fields, number, invoice, amounts), invoice


def test_a_signed_zero_that_decimal_keeps_is_priced_and_summed() -> None:
    # given a unit price and a rate of -0.0, which the contract takes (neither is below 0)
    fields = CsvFields(CSV_DIALECTS["rfc4180"])
    sums = Lines(fields.delimiter, fields.decimal_comma, Decimal)
    invoice = _invoice(random.Random(0))
    invoice = Invoice(
        invoice.invoice_number,
        invoice.issue_date,
        "PEN",
        invoice.customer,
        [
            Item(Decimal("2"), Decimal("-0.0"), Decimal("0.18")),
            Item(Decimal("2"), Decimal("5"), Decimal("-0.00")),
        ],
    )

    # when C leaves it and decimal prices it / then its lines keep decimal's text
    assert sums.price(invoice.items, "F-1", "PEN") is None
    with localcontext(MONEY_CONTEXT):
        text = InvoiceLines(fields).details(price_invoice(invoice), "F-1", sums)
    assert text == "F-1,1,,,2,-0.0,0,0.18,-0.00,-0.00\r\nF-1,2,,,2,5,0,-0.00,10.00,-0.00\r\n"
    assert [
        (code, str(rate), n, str(net), str(tax)) for code, rate, n, net, tax in sums.rates()
    ] == [
        ("PEN", "0.18", 1, "0.00", "0.00"),
        ("PEN", "-0.00", 1, "10.00", "0.00"),
    ]


def test_an_uninitialised_lines_object_raises_instead_of_crashing() -> None:
    lines = Lines.__new__(Lines)
    with pytest.raises(RuntimeError, match="not initialised"):
        lines.add("PEN", Decimal("0.18"), Decimal("1.00"), Decimal("0.18"))
