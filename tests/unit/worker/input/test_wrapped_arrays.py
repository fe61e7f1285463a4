"""An object holding more than one array of records is refused, naming the keys (defect 7).

Using the first array and dropping the others without a word would lose data; the
message says which keys hold arrays, so the sender can split the payload.
"""

from __future__ import annotations

import json

import pytest

from reports_shared.errors import InvalidPayload
from tests.support.builds import Builder
from tests.support.data import invoice


def wrapped(**values: object) -> bytes:
    """An object with ``values`` under their keys, in order."""
    return json.dumps(values, ensure_ascii=False).encode()


def test_two_arrays_of_invoices_fail_the_job_naming_both_keys(build: Builder) -> None:
    # Given an object holding two arrays of valid invoices
    data = wrapped(facturas=[invoice("F-1")], masFacturas=[invoice("F-2")])
    # When the report is built, then the job fails naming both keys
    with pytest.raises(InvalidPayload, match="más de una lista") as failure:
        build(data)
    assert "«facturas»" in str(failure.value)
    assert "«masFacturas»" in str(failure.value)


def test_an_empty_second_array_is_refused_too(build: Builder) -> None:
    # Given an object whose second array is empty (nothing would be lost, but the rule is one)
    data = wrapped(facturas=[invoice("F-1")], errores=[])
    # When the report is built, then the job fails naming both keys
    with pytest.raises(InvalidPayload, match=r"«facturas».*«errores»"):
        build(data)


def test_an_empty_first_array_before_the_records_is_refused(build: Builder) -> None:
    # Given an object whose records come after an empty array
    data = wrapped(avisos=[], facturas=[invoice("F-1")])
    # When the report is built, then the job fails naming both keys
    with pytest.raises(InvalidPayload, match=r"«avisos».*«facturas»"):
        build(data)


def test_arrays_nested_in_other_values_are_not_lists_of_records(build: Builder) -> None:
    # Given an object with one array of records and other keys holding nested arrays
    data = wrapped(meta={"tags": ["a", "b"], "ids": [1, 2]}, facturas=[invoice("F-1")], total=1)
    # When the report is built
    built = build(data)
    # Then the one array of records is used
    assert built.outcome.records_processed == 1


def test_the_message_names_a_second_array_far_after_the_first(build: Builder) -> None:
    # Given a second array after 2,000 invoices (past the reader's look-ahead)
    data = wrapped(facturas=[invoice(f"F-{n}") for n in range(2000)], otras=[invoice("X")])
    # When the report is built, then the job fails naming both keys
    with pytest.raises(InvalidPayload, match=r"«facturas».*«otras»"):
        build(data)
