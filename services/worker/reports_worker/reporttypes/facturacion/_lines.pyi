"""Types of the C extension ``_lines.c`` (its header says what each method does)."""

from datetime import date
from decimal import Decimal

from msgspec import Raw

class Lines:
    def __init__(self, delimiter: str, decimal_comma: bool, decimal: type[Decimal]) -> None: ...
    def price_all(self, items_jsons: list[bytes | Raw], number_fields: list[str], /) -> None: ...
    def take(
        self, index: int, currency: str, /
    ) -> tuple[bytes, Decimal, Decimal, Decimal, int] | None: ...
    def add(self, currency: str, rate: Decimal, net: Decimal, tax: Decimal, /) -> None: ...
    def invoice(
        self,
        number_field: str,
        issued: date,
        currency: str,
        tax_id: str,
        name: str,
        email: str | None,
        lines: int,
        subtotal: Decimal,
        tax: Decimal,
        total: Decimal,
        /,
    ) -> bytes: ...
    def rates(self) -> list[tuple[str, Decimal, int, Decimal, Decimal]]: ...
