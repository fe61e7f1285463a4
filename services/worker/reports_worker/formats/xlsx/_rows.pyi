"""Types of the C extension ``_rows.c`` (its header says what ``fill`` does)."""

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

def fill(
    literals: list[str],
    slots: list[int],
    number: str,
    values: Sequence[object],
    serials: dict[date, str],
    serial_of: Callable[[date, dict[date, str]], str | None],
    decimal: type[Decimal],
    /,
) -> bytes | None: ...
def missing(values: Sequence[object], /) -> tuple[int, ...]: ...
def numbered(rows: list[object], start: int, stop: int, first: int, /) -> bytes: ...
