"""Money rules of the contract: half-up to cents per line, invoice totals from rounded lines."""

from __future__ import annotations

import pytest

from tests.support.builds import Builder
from tests.support.data import invoice, item


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("2.675", "2.68"),
        ("2.665", "2.67"),
        ("0.004999", "0.00"),
        ("1.115", "1.12"),
        ("10", "10.00"),
    ],
)
def test_line_amounts_round_half_up_to_cents(build: Builder, value: str, expected: str) -> None:
    # given a line of one unit at that price, no tax (JSON holds the number as written)
    record = invoice(items=[item(unitPrice=float(value))])

    # when built
    built = build([record])

    # then halves go away from zero, to two decimals
    assert built.csv_rows("facturas_detalle.csv")[0]["importe_neto"] == expected


def test_line_net_is_rounded_half_up_after_the_discount(build: Builder) -> None:
    # given 3 x 0.335 - 0 = 1.005, and 1 x 2.675
    record = invoice(items=[item(quantity=3, unitPrice=0.335), item(unitPrice=2.675)])

    # when
    built = build([record])

    # then each line rounds on its own: 1.01 and 2.68
    lines = built.csv_rows("facturas_detalle.csv")
    assert [line["importe_neto"] for line in lines] == ["1.01", "2.68"]


def test_line_tax_is_rounded_from_the_rounded_net(build: Builder) -> None:
    # given a net of 0.25 at 18 %: 0.045 -> 0.05 (half-up), not 0.04
    record = invoice(items=[item(quantity=1, unitPrice=0.25, taxRate=0.18)])

    # when
    built = build([record])

    # then
    assert built.csv_rows("facturas_detalle.csv")[0]["impuesto"] == "0.05"


def test_invoice_totals_sum_the_rounded_lines(build: Builder) -> None:
    # given three lines whose exact sum would round differently than the sum of rounded parts
    record = invoice(
        items=[
            item(quantity=1, unitPrice=0.005, taxRate=0.18),  # net 0.01, tax 0.00
            item(quantity=1, unitPrice=0.005, taxRate=0.18),  # net 0.01, tax 0.00
            item(quantity=2, unitPrice=12.5, taxRate=0.18, discount=0.5),  # net 24.50, tax 4.41
        ]
    )

    # when
    built = build([record])

    # then subtotal = 0.01 + 0.01 + 24.50, tax = 0.00 + 0.00 + 4.41
    row = built.csv_rows("facturas.csv")[0]
    assert (row["subtotal"], row["impuesto"], row["total"]) == ("24.52", "4.41", "28.93")


def test_contract_example_gives_the_hand_computed_totals(build: Builder) -> None:
    # given the contract's example: 3 x 12.50 at 18 %
    # when
    built = build([invoice()])

    # then 37.50 + 6.75 = 44.25
    row = built.csv_rows("facturas.csv")[0]
    assert (row["subtotal"], row["impuesto"], row["total"]) == ("37.50", "6.75", "44.25")


def test_manifest_totals_are_per_currency_decimal_strings(build: Builder) -> None:
    # given two PEN invoices and one USD invoice
    records = [
        invoice("F1", items=[item(quantity=1, unitPrice=100, taxRate=0.18)]),
        invoice("F2", items=[item(quantity=2, unitPrice=0.335, taxRate=0.18)]),
        invoice("F3", currency="USD", items=[item(quantity=1, unitPrice=9.99, taxRate=0)]),
    ]

    # when
    built = build(records)

    # then F2: net round(0.67) = 0.67, tax round(0.1206) = 0.12
    assert built.outcome.manifest["totals"] == {
        "PEN": {"invoices": 2, "subtotal": "100.67", "tax": "18.12", "total": "118.79"},
        "USD": {"invoices": 1, "subtotal": "9.99", "tax": "0.00", "total": "9.99"},
    }


def test_amounts_stay_exact_where_floats_would_drift(build: Builder) -> None:
    # given 10 lines of 0.1 (0.1 + 0.2 != 0.3 in binary floats)
    record = invoice(items=[item(quantity=1, unitPrice=0.1) for _ in range(10)])

    # when
    built = build([record] * 3)

    # then
    assert built.outcome.manifest["totals"]["PEN"]["subtotal"] == "3.00"
