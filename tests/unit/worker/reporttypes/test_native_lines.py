"""Invoice lines read from their JSON, priced and rendered in C (``_lines.c``) against
msgspec, decimal and the Python renderer: the same text, the same amounts, the same sums
per rate, or no answer at all."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal, localcontext
from typing import Any

import msgspec
import pytest

from reports_shared.errors import ReportsError
from reports_worker.errors import RecordRejected
from reports_worker.formats.csv import CSV_DIALECTS, CsvFields
from reports_worker.reporttypes.facturacion._lines import Lines
from reports_worker.reporttypes.facturacion.invoices import (
    Customer,
    Invoice,
    Item,
    LeanInvoice,
    price_invoice,
    with_items,
)
from reports_worker.reporttypes.facturacion.money import MONEY_CONTEXT
from reports_worker.reporttypes.facturacion.report import InvoiceLines

TEXTS: list[str | None] = [
    None, "", "A-1", "ñandú", "con, coma", "con; punto y coma", 'con "comillas"', "=1+2",
    "+51", "-3", "@SUM", "\ttab", "línea\r\nnueva", "\x00nul", "emoji 🎉", " espacio ",
    "barra \\ y /", "\x1f",
]  # fmt: skip
RATES = ["0.18", "0.180", "0", "1", "1.00", "0.0825", "0.5", "1.01", "-0.18", "0.105"]
#: Amounts decimal writes otherwise than they are sent, or refuses, or that are not JSON
#: numbers at all (sent as strings only).
ODD_NUMBERS = ["1E+2", "5E-3", "-0", "0.000", "1e-25", "-1", "0E-30", "0.0000001", "0.00000000"]
ODD_STRINGS = ["NaN", "007", "5.", ".5", " 1", "1_000", "", "abc", "١٢"]


def _number(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.06:
        return rng.choice(ODD_NUMBERS)
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


def _amount(rng: random.Random, number: str) -> str:
    """``number`` as JSON: a number, or a string holding it (or something odd)."""
    kind = rng.random()
    if kind < 0.03:
        return json.dumps(rng.choice(ODD_STRINGS))
    if kind < 0.25:
        return json.dumps(number)
    return number


def _text(rng: random.Random, value: object) -> str:
    """``value`` as JSON, escaped (ASCII only) or not."""
    return json.dumps(value, ensure_ascii=rng.random() < 0.5)


def _item_json(rng: random.Random) -> str:
    """One item's JSON: fields in any order, spaced any way, unknown keys, odd types."""
    fields: list[tuple[str, str]] = [
        ("quantity", _amount(rng, _number(rng))),
        ("unitPrice", _amount(rng, _number(rng))),
        ("taxRate", _amount(rng, rng.choice(RATES))),
    ]
    discount = rng.random()
    if discount < 0.2:
        fields.append(("discount", "null"))
    elif discount > 0.5:
        fields.append(("discount", _amount(rng, _number(rng) if discount < 0.8 else "0.01")))
    sku = rng.choice([*TEXTS, 7, -12, 0, 10**20, 1.5, True])
    if rng.random() < 0.8:
        fields.append(("sku", _text(rng, sku)))
    if rng.random() < 0.8:
        fields.append(("description", _text(rng, rng.choice([*TEXTS, 3]))))
    if rng.random() < 0.3:
        fields.append(("unitCode", _text(rng, {"a": [1, 2.5e3, None, True, "\u00e9"], "b": {}})))
    if rng.random() < 0.02:  # msgspec keeps the last of a repeated key
        fields.append(("quantity", _amount(rng, _number(rng))))
    if rng.random() < 0.01:
        del fields[rng.randrange(3)]
    rng.shuffle(fields)
    space = rng.choice(["", " ", "\n  ", "\t"])
    return (
        "{" + space + f",{space}".join(f'"{key}"{space}:{space}{value}' for key, value in fields)
        + space + "}"
    )  # fmt: skip


def _items_json(rng: random.Random) -> bytes:
    if rng.random() < 0.01:
        return rng.choice([b"[]", b"{}", b'"muchos"', b"null"])
    space = rng.choice(["", " ", "\n"])
    items = [_item_json(rng) for _ in range(rng.randint(1, 4))]
    return f"{space}[{space}{f',{space}'.join(items)}{space}]{space}".encode()


def _invoice(rng: random.Random, items: bytes) -> LeanInvoice:
    return LeanInvoice(
        invoice_number="F-1",
        issue_date=date(2026, 12, 6),
        currency=rng.choice(["PEN", "USD"]),
        customer=Customer(tax_id="20100047218", name="Cliente"),
        items=msgspec.Raw(items),
    )


def _priced_in_python(invoice: LeanInvoice) -> Any:
    """The invoice decoded by msgspec and priced by decimal, or None if either refuses."""
    try:
        return price_invoice(with_items(invoice))
    except (RecordRejected, ReportsError):
        return None


@pytest.mark.parametrize("dialect", sorted(CSV_DIALECTS))
@pytest.mark.parametrize("seed", range(3))
def test_c_lines_match_msgspec_decimal_and_the_python_renderer(dialect: str, seed: int) -> None:
    # given random items' JSON: ordinary amounts, halves, bounds, exponents, signs, bad
    # rates; numbers as strings, escaped texts, unknown keys, odd spacing, wrong types
    rng = random.Random(seed)
    fields = CsvFields(CSV_DIALECTS[dialect])
    native = Lines(fields.delimiter, fields.decimal_comma, Decimal)
    reference = Lines(fields.delimiter, fields.decimal_comma, Decimal)
    left = Lines(fields.delimiter, fields.decimal_comma, Decimal)
    answered = skipped = 0
    with localcontext(MONEY_CONTEXT):
        remaining = 3_000
        while remaining:
            size = min(remaining, rng.choice((1, 2, 7, 50, 200)))
            remaining -= size
            batch = [_invoice(rng, _items_json(rng)) for _ in range(size)]
            numbers = [fields.text(invoice.invoice_number) for invoice in batch]

            # when C prices the batch, and its invoices are taken in turn (some not at all:
            # a build leaves an invoice whose head it rejects)
            native.price_all([invoice.items for invoice in batch], numbers)
            for index, (invoice, number) in enumerate(zip(batch, numbers, strict=True)):
                if rng.random() < 0.05:
                    skipped += 1
                    continue
                got = native.take(index, invoice.currency)

                # then msgspec decodes and decimal prices it too, to the same text and
                # amounts; an invoice that C leaves and they take is rendered and summed
                # in Python
                priced = _priced_in_python(invoice)
                if got is None:
                    if priced is not None:
                        InvoiceLines(fields).details(priced, number, left)
                    continue
                answered += 1
                if priced is None:
                    pytest.fail(
                        f"C priced an invoice msgspec or decimal refuses: {bytes(invoice.items)!r}"
                    )
                text = InvoiceLines(fields).details(priced, number, reference)
                assert got[0] == text.encode(), bytes(invoice.items)
                assert [str(amount) for amount in got[1:4]] == [
                    str(priced.subtotal),
                    str(priced.tax),
                    str(priced.total),
                ], bytes(invoice.items)
                assert got[4] == priced.line_count

    # and the sums per currency and rate agree, rate spellings included
    assert native.rates() == reference.rates()
    assert [(code, str(rate)) for code, rate, *_ in native.rates()] == [
        (code, str(rate)) for code, rate, *_ in reference.rates()
    ]
    assert answered > 500  # about a fifth of these random invoices are the common case
    assert skipped > 50


def _items(*items: dict[str, Any]) -> bytes:
    return json.dumps(list(items)).encode()


def _price(lines: Lines, items: bytes, number: str, currency: str) -> Any:
    """One invoice priced in a batch of its own, and taken."""
    lines.price_all([items], [number])
    return lines.take(0, currency)


def test_escaped_texts_and_numbers_as_strings_render_as_msgspec_reads_them() -> None:
    # given an item whose texts are escaped (a surrogate pair too) and amounts are strings
    native = Lines(",", False, Decimal)
    raw = (
        b'[{"sku": "\\u00d1-\\ud83c\\udf89", "description": "dice \\"hola\\"\\n",'
        b' "quantity": "2", "unitPrice": "1.50", "taxRate": 0.18, "discount": null}]'
    )

    # when
    got = _price(native, raw, "F-1", "PEN")

    # then
    assert got is not None
    assert got[0] == 'F-1,1,Ñ-🎉,"dice ""hola""\n",2,1.50,0,0.18,3.00,0.54\r\n'.encode()
    assert got[1:] == (Decimal("3.00"), Decimal("0.54"), Decimal("3.54"), 1)


@pytest.mark.parametrize(
    "raw",
    [
        b'[{"quantity": 1, "unitPrice": 1, "taxRate": 0, "quantity": 2}]',
        b'[{"quantity": 1, "unitPrice": 1}]',
        b'[{"quantity": 1, "unitPrice": 1, "taxRate": 0, "sku": "\\ud800"}]',
        b'[{"quantity": 1e2, "unitPrice": 1, "taxRate": 0}]',
        b'[{"quantity": "0.0000001", "unitPrice": 1, "taxRate": 0}]',
        b'[{"quantity": 1, "unitPrice": 1, "taxRate": 0, "sku": -0}]',
        b'[{"quantity": 1, "unitPrice": 1, "taxRate": 0, "sku": 12345678901234567890}]',
        b'[{"quantity": 1, "unitPrice": 1, "taxRate": 0, "description": 5}]',
        b'[{"quantity": 1, "unitPrice": 1, "taxRate": 0}, 5]',
        b"[]",
        b"{}",
        # not JSON, which msgspec would have refused before C saw it: refused here too
        b'[{"quantity": 1, "unitPrice": 1, "taxRate": 0, "x": nope}]',
        b'[{"quantity": 1, "unitPrice": 1, "taxRate": 0, "x": 1.2.3e}]',
    ],
)
def test_what_the_reader_leaves_to_msgspec_is_left_uncounted(raw: bytes) -> None:
    # given items' JSON outside the common case (msgspec decides: a repeated key, a
    # missing one, a lone surrogate, an exponent, a number decimal writes otherwise...)
    native = Lines(",", False, Decimal)

    # when / then C leaves it, and counts nothing
    assert _price(native, raw, "F-1", "PEN") is None
    assert native.rates() == []


def test_an_invoice_c_fails_on_adds_nothing_to_the_sums() -> None:
    # given a Decimal type that fails to make an invoice's tax, its second amount
    made: list[str] = []

    def failing(text: str) -> Decimal:
        made.append(text)
        if len(made) == 2:
            raise ArithmeticError("no tax today")
        return Decimal(text)

    native = Lines(",", False, failing)  # type: ignore[arg-type]
    native.price_all([_items({"quantity": 1, "unitPrice": 1, "taxRate": 0.18})], ["F-1"])

    # when / then taking it fails, and no rate is counted, not even with no lines
    with pytest.raises(ArithmeticError):
        native.take(0, "PEN")
    assert native.rates() == []


def test_initialising_again_starts_from_no_sums() -> None:
    native = Lines(",", False, Decimal)
    assert _price(native, _items({"quantity": 1, "unitPrice": 1, "taxRate": 0.18}), "F", "PEN")
    native.__init__(";", True, Decimal)  # type: ignore[misc]
    assert native.rates() == []
    got = _price(native, _items({"quantity": 1, "unitPrice": 1, "taxRate": 0.18}), "F", "PEN")
    assert got is not None
    assert got[0] == b"F;1;;;1;1;0;0,18;1,00;0,18\r\n"
    assert [(code, str(rate), lines) for code, rate, lines, *_ in native.rates()] == [
        ("PEN", "0.18", 1)
    ]


def test_an_invoice_c_leaves_adds_nothing_to_the_sums() -> None:
    # given an invoice whose second line has a discount larger than the line
    native = Lines(",", False, Decimal)
    raw = _items(
        {"quantity": 1, "unitPrice": 10, "taxRate": 0.18},
        {"quantity": 1, "unitPrice": 1, "taxRate": 0.05, "discount": 2},
    )

    # when / then it is left to decimal, and no rate is counted
    assert _price(native, raw, "F-1", "PEN") is None
    assert native.rates() == []


def test_rounding_is_half_up_to_the_cent() -> None:
    native = Lines(",", False, Decimal)
    raw = b"""[{"quantity": 1, "unitPrice": 2.675, "taxRate": 0.5},
               {"quantity": 1, "unitPrice": 0.005, "taxRate": 1}]"""
    got = _price(native, raw, "F-1", "PEN")
    assert got is not None
    assert got[0] == b"F-1,1,,,1,2.675,0,0.5,2.68,1.34\r\nF-1,2,,,1,0.005,0,1,0.01,0.01\r\n"
    assert got[1:] == (Decimal("2.69"), Decimal("1.35"), Decimal("4.04"), 2)


def _reference_invoice_line(
    fields: CsvFields, number: str, invoice: Invoice, lines: int, amounts: list[Decimal]
) -> str:
    """The line of facturas.csv as the Python renderer wrote it before it moved to C."""
    text, sep, customer = fields.text, fields.delimiter, invoice.customer
    return (
        f"{number}{sep}{invoice.issue_date.isoformat()}{sep}{invoice.currency}{sep}"
        f"{text(str(customer.tax_id).strip())}{sep}{text(customer.name)}{sep}"
        f"{text(customer.email)}{sep}{lines}{sep}{fields.numbers(amounts)}\r\n"
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
            items=[Item(Decimal(1), Decimal(1), Decimal(0))],
        )
        lines = rng.randint(1, 300)
        amounts = [Decimal(rng.randint(0, 10**20)).scaleb(-2) for _ in range(3)]
        number = fields.text(invoice.invoice_number)
        tax_id = str(invoice.customer.tax_id).strip()
        customer = invoice.customer
        got = native.invoice(
            number, invoice.issue_date, invoice.currency, tax_id, customer.name,
            customer.email, lines, *amounts,
        )  # fmt: skip
        assert got == _reference_invoice_line(fields, number, invoice, lines, amounts).encode()


def test_a_signed_zero_that_decimal_keeps_is_priced_and_summed() -> None:
    # given a unit price and a rate of -0.0, which the contract takes (neither is below 0)
    fields = CsvFields(CSV_DIALECTS["rfc4180"])
    sums = Lines(fields.delimiter, fields.decimal_comma, Decimal)
    invoice = msgspec.structs.replace(
        _invoice(
            random.Random(0),
            b"""[{"quantity": 2, "unitPrice": -0.0, "taxRate": 0.18},
        {"quantity": 2, "unitPrice": 5, "taxRate": -0.00}]""",
        ),
        currency="PEN",
    )

    # when C leaves it and decimal prices it / then its lines keep decimal's text
    assert _price(sums, invoice.items, "F-1", "PEN") is None
    with localcontext(MONEY_CONTEXT):
        text = InvoiceLines(fields).details(price_invoice(with_items(invoice)), "F-1", sums)
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


def test_a_batch_is_taken_each_invoice_once_and_only_from_the_last_batch_priced() -> None:
    # given a batch of two invoices priced at once, the first outside the common case
    native = Lines(",", False, Decimal)
    common = b'[{"quantity": 2, "unitPrice": "1.25", "taxRate": 0.18, "sku": "\\u00d1"}]'
    exponent = b'[{"quantity": 1e2, "unitPrice": 1, "taxRate": 0}]'
    native.price_all([exponent, common], ["A", "B"])

    # when / then the one C leaves is None, the other is its own lines, taken once
    assert native.take(0, "PEN") is None
    got = native.take(1, "PEN")
    assert got is not None
    assert got[0] == "B,1,Ñ,,2,1.25,0,0.18,2.50,0.45\r\n".encode()
    with pytest.raises(RuntimeError, match="taken already"):
        native.take(1, "PEN")
    with pytest.raises(IndexError):
        native.take(2, "PEN")
    assert [(str(rate), lines) for _, rate, lines, *_ in native.rates()] == [("0.18", 1)]

    # and a batch priced next replaces it whole
    native.price_all([common], ["C"])
    with pytest.raises(IndexError):
        native.take(1, "PEN")
    assert native.take(0, "USD") is not None
    assert [(code, lines) for code, _, lines, *_ in native.rates()] == [("PEN", 1), ("USD", 1)]


@pytest.mark.parametrize(
    ("items", "numbers", "error"),
    [
        ([b"[]"], [], ValueError),
        ([5], ["A"], TypeError),
        ([b"[]"], [5], TypeError),
        ((b"[]",), ["A"], TypeError),
    ],
)
def test_a_batch_the_caller_gets_wrong_is_refused_and_leaves_nothing(
    items: Any, numbers: Any, error: type[Exception]
) -> None:
    native = Lines(",", False, Decimal)
    native.price_all([_items({"quantity": 1, "unitPrice": 1, "taxRate": 0.18})], ["A"])
    with pytest.raises(error):
        native.price_all(items, numbers)
    with pytest.raises(IndexError):  # the batch before is gone too
        native.take(0, "PEN")
    assert native.rates() == []
