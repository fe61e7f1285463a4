"""Records that break the contract go to errores.csv with a reason; the job goes on."""

from __future__ import annotations

from typing import Any

import pytest

from reports_shared.errors import InvalidPayload
from tests.support.builds import Builder
from tests.support.data import as_json, invoice, item


def _reason_for(build: Builder, bad: dict[str, Any]) -> str:
    built = build([invoice("OK-1"), bad])
    rows = built.csv_rows("errores.csv")
    assert len(rows) == 1
    return rows[0]["motivo"]


def test_bad_record_is_listed_and_the_rest_processed(build: Builder) -> None:
    # given a good, a bad and a good invoice
    records = [invoice("A-1"), invoice("A-2", currency="XYZ"), invoice("A-3")]

    # when
    built = build(records)

    # then the 2nd record (numbered from 1) is in errores.csv, the others are processed
    assert built.outcome.records_processed == 2
    assert built.outcome.records_rejected == 1
    assert built.csv_rows("errores.csv") == [
        {
            "registro": "2",
            "referencia": "A-2",
            "motivo": "currency 'XYZ' no es un código ISO 4217 vigente.",
        }
    ]
    assert [row["numero_factura"] for row in built.csv_rows("facturas.csv")] == ["A-1", "A-3"]


def test_no_errors_file_when_every_record_is_good(build: Builder) -> None:
    # given / when
    built = build([invoice("A-1")])

    # then
    assert "errores.csv" not in built.names()
    assert built.outcome.manifest["recordsRejected"] == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"invoiceNumber": ""}, "«invoiceNumber» no puede estar vacío."),
        ({"invoiceNumber": "   "}, "invoiceNumber está vacío."),
        ({"issueDate": "2024-02-30"}, "«issueDate» no es una fecha válida (formato AAAA-MM-DD)."),
        (
            {"currency": "pen"},
            "currency 'pen' no es un código ISO 4217 vigente (¿quiso decir PEN?).",
        ),
        ({"customer": {"name": "X"}}, "Falta el campo obligatorio «customer.taxId»."),
        ({"items": []}, "«items» debe tener al menos 1 elemento(s)."),
        ({"items": "muchos"}, "«items» debe ser una lista, pero es un texto."),
        ({"items": [item(quantity=0)]}, "Ítem 1: quantity debe ser mayor que 0 (es 0)."),
        ({"items": [item(unitPrice=-1)]}, "Ítem 1: unitPrice no puede ser negativo (es -1)."),
        ({"items": [item(taxRate=1.5)]}, "Ítem 1: taxRate debe estar entre 0 y 1 (es 1.5)."),
        (
            {"items": [item(), item(quantity=2, unitPrice=5, discount=10.01)]},
            "Ítem 2: discount (10.01) supera quantity × unitPrice (10).",
        ),
        (
            {"items": [item(quantity=True)]},
            "«items[0].quantity» debe ser un número, pero es un valor true/false.",
        ),
        ({"items": [item(), {"quantity": 1}]}, "Falta el campo obligatorio «items[1].unitPrice»."),
        # two rules broken: the reason is the one found first, the items' JSON being read
        # before the invoice's own checks and before what follows it in the record
        (
            {"currency": "XYZ", "items": [item(quantity=True)]},
            "«items[0].quantity» debe ser un número, pero es un valor true/false.",
        ),
        (
            {"items": [item(unitPrice="diez")], "notes": 5},
            "«items[0].unitPrice» no es un número válido.",
        ),
        (
            {"currency": "XYZ", "items": [item(quantity=0)]},
            "currency 'XYZ' no es un código ISO 4217 vigente.",
        ),
    ],
)
def test_rule_breaks_are_explained_in_spanish(
    build: Builder, change: dict[str, Any], reason: str
) -> None:
    # given an invoice breaking one rule / when built / then errores.csv says which
    assert _reason_for(build, invoice("BAD", **change)) == reason


def test_discount_equal_to_the_gross_amount_is_allowed(build: Builder) -> None:
    # given a line given away entirely
    built = build([invoice(items=[item(quantity=2, unitPrice=5, discount=10)])])

    # then
    assert built.csv_rows("facturas.csv")[0]["total"] == "0.00"


@pytest.mark.parametrize(
    "number", ["1e400", "1000000000000000000000000000000", "1000000000000000", "-1e400"]
)
def test_absurd_numbers_reject_the_record_instead_of_crashing(build: Builder, number: str) -> None:
    # given a unit price far outside what money can be
    payload = (
        b'[{"invoiceNumber": "OK", "issueDate": "2024-01-01", "currency": "PEN", '
        b'"customer": {"taxId": "1", "name": "A"}, "items": [{"quantity": 1, "unitPrice": 1, '
        b'"taxRate": 0}]}, {"invoiceNumber": "HUGE", "issueDate": "2024-01-01", '
        b'"currency": "PEN", "customer": {"taxId": "1", "name": "A"}, "items": [{"quantity": 1, '
        b'"unitPrice": ' + number.encode() + b', "taxRate": 0}]}]'
    )

    # when
    built = build(payload)

    # then
    [row] = built.csv_rows("errores.csv")
    assert row["referencia"] == "HUGE"
    assert row["motivo"].startswith("Ítem 1: unitPrice ")


def test_numbers_too_long_to_multiply_exactly_are_rejected(build: Builder) -> None:
    # given a quantity and a price with 50 significant digits each (a 100-digit product)
    long = "1." + "0" * 48 + "1"
    payload = (
        b'[{"invoiceNumber": "LONG", "issueDate": "2024-01-01", "currency": "PEN", '
        b'"customer": {"taxId": "1", "name": "A"}, "items": [{"quantity": '
        + long.encode()
        + b', "unitPrice": '
        + long.encode()
        + b', "taxRate": 0}]}, '
        + as_json([invoice("OK")])[1:]
    )

    # when
    built = build(payload)

    # then
    assert built.csv_rows("errores.csv")[0]["motivo"] == (
        "Ítem 1: un importe no es un número finito o tiene demasiados dígitos."
    )


def test_record_that_is_not_an_object_is_rejected(build: Builder) -> None:
    # given
    built = build([invoice("A-1"), [1, 2], "texto"])

    # then
    assert [row["motivo"] for row in built.csv_rows("errores.csv")] == [
        "El registro debe ser un objeto, pero es una lista.",
        "El registro debe ser un objeto, pero es un texto.",
    ]


def test_unknown_fields_are_ignored(build: Builder) -> None:
    # given
    record = invoice(extra={"anything": [1, 2, 3]}, seller="X")
    record["items"][0]["unitCode"] = "NIU"

    # when
    built = build([record])

    # then
    assert built.outcome.records_rejected == 0


def test_numeric_tax_id_is_read_as_text(build: Builder) -> None:
    # given a tax id sent as a JSON number
    record = invoice(customer={"taxId": 20123456789, "name": "A"})

    # when
    built = build([record])

    # then
    assert built.csv_rows("facturas.csv")[0]["cliente_id_tributario"] == "20123456789"


def test_only_rejected_records_fail_the_job_with_the_first_reason(build: Builder) -> None:
    # given nothing usable
    records = [invoice("A", currency="XXX"), invoice("B", items=[])]

    # when / then
    with pytest.raises(InvalidPayload) as caught:
        build(records)
    assert str(caught.value) == (
        "Ningún registro es utilizable: los 2 registros fueron rechazados. El primero "
        "(registro 1): currency 'XXX' no es un código ISO 4217 vigente."
    )
