"""Exact money arithmetic: decimals only, half-up rounding to cents, bounded magnitudes."""

from __future__ import annotations

from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)

#: Every amount, given or computed, must stay below 10**15 (a quadrillion).
MAX_AMOUNT = Decimal(10**15)
#: The finest decimal place a given amount or rate may reach: a nonzero number below
#: 1e-20, or a zero written with more than 20 decimals, is refused. Written out in full,
#: ``1e-999999`` is a million characters (CSV has no exponents): this bounds what a
#: number costs in the output to its own digits plus 36 characters.
MAX_DECIMAL_PLACES = 20

#: Context for money arithmetic that must be exact: 80 digits hold any product of two
#: amounts with up to 40 significant digits each; a result that would need rounding
#: (more digits than that, or underflow) raises Inexact instead of losing cents silently.
EXACT_CONTEXT = Context(
    prec=80,
    rounding=ROUND_HALF_UP,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
#: Context for sums and rounding: the same precision, rounding allowed.
MONEY_CONTEXT = Context(
    prec=80,
    rounding=ROUND_HALF_UP,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


def round_cents(value: Decimal) -> Decimal:
    """``value`` rounded half-up to 2 decimals (2.675 -> 2.68, 0.005 -> 0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)
