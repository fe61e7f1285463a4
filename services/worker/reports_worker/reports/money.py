"""Exact money arithmetic: decimals only, half-up rounding to cents, bounded magnitudes."""

from __future__ import annotations

from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)

#: Inputs must stay below 10**15 (a quadrillion) ...
MAX_ADJUSTED_EXPONENT = 14
#: ... with at most 20 decimal places, so a product has at most 70 digits and
#: MONEY_CONTEXT's 80 digits of precision keep every intermediate result exact.
MIN_EXPONENT = -20

#: Context for all money arithmetic; a trap turns a silent NaN or overflow into an error.
MONEY_CONTEXT = Context(
    prec=80,
    rounding=ROUND_HALF_UP,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


def round_cents(value: Decimal) -> Decimal:
    """``value`` rounded half-up to 2 decimals (2.675 -> 2.68, 0.005 -> 0.01)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)


def out_of_range(value: Decimal) -> str | None:
    """Why ``value`` is unusable as a money input (Spanish), or None when it is fine."""
    if not value.is_finite():
        return "no es un número finito"
    if value.is_zero():
        return None
    if value.adjusted() > MAX_ADJUSTED_EXPONENT:
        return "es demasiado grande (máximo 999.999.999.999.999)"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < MIN_EXPONENT:
        return f"tiene demasiados decimales (máximo {-MIN_EXPONENT})"
    return None


def plain(value: Decimal) -> str:
    """``value`` in positional notation, never exponent notation (1E+2 -> 100)."""
    return f"{value:f}"
