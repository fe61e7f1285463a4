"""Running totals of a FacturacionMasiva build: small dicts, whatever the record count."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .invoices import PricedInvoice
from .money import ZERO


@dataclass(slots=True)
class CurrencyTotals:
    """Sums over the invoices of one currency."""

    invoices: int = 0
    lines: int = 0
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO

    def absorb(self, other: CurrencyTotals) -> None:
        """Add another batch's sums for the same currency."""
        self.invoices += other.invoices
        self.lines += other.lines
        self.subtotal += other.subtotal
        self.tax += other.tax
        self.total += other.total


@dataclass(slots=True)
class RateTotals:
    """Sums over the lines of one currency and tax rate."""

    lines: int = 0
    net: Decimal = ZERO
    tax: Decimal = ZERO

    def absorb(self, other: RateTotals) -> None:
        """Add another batch's sums for the same currency and rate."""
        self.lines += other.lines
        self.net += other.net
        self.tax += other.tax


@dataclass(slots=True)
class InvoiceTotals:
    """Counts, sums per currency and per tax rate, and the range of issue dates."""

    invoices: int = 0
    lines: int = 0
    by_currency: dict[str, CurrencyTotals] = field(default_factory=dict)
    by_rate: dict[tuple[str, Decimal], RateTotals] = field(default_factory=dict)
    first_date: date | None = None
    last_date: date | None = None

    def add(self, priced: PricedInvoice) -> None:
        """Count one priced invoice (in the caller's decimal context: sums need no rounding).

        Its lines are added to :attr:`by_rate` apart, a batch at a time (:meth:`add_rates`):
        they are summed as they are priced.
        """
        invoice = priced.invoice
        lines = priced.line_count
        self.invoices += 1
        self.lines += lines
        code = invoice.currency
        currency = self.by_currency.get(code)
        if currency is None:
            currency = self.by_currency[code] = CurrencyTotals()
        currency.invoices += 1
        currency.lines += lines
        currency.subtotal += priced.subtotal
        currency.tax += priced.tax
        currency.total += priced.total
        self._see_date(invoice.issue_date)

    def add_rates(self, sums: Iterable[tuple[str, Decimal, int, Decimal, Decimal]]) -> None:
        """Add sums per currency and tax rate: (currency, rate, lines, net, tax) each.

        Equal decimals hash equal, so 0.18 and 0.180 count as one rate (the first seen
        names it).
        """
        for code, rate, lines, net, tax in sums:
            found = self.by_rate.get((code, rate))
            if found is None:
                self.by_rate[(code, rate)] = RateTotals(lines, net, tax)
            else:
                found.absorb(RateTotals(lines, net, tax))

    def _see_date(self, issued: date) -> None:
        if self.first_date is None or issued < self.first_date:
            self.first_date = issued
        if self.last_date is None or issued > self.last_date:
            self.last_date = issued

    def merge(self, other: InvoiceTotals) -> None:
        """Add the totals of a later batch (in the caller's decimal context)."""
        self.invoices += other.invoices
        self.lines += other.lines
        for code, sums in other.by_currency.items():
            if code in self.by_currency:
                self.by_currency[code].absorb(sums)
            else:
                self.by_currency[code] = sums
        for key, rate_sums in other.by_rate.items():
            # The first batch's spelling of a rate is kept (0.18 before a later 0.180).
            if key in self.by_rate:
                self.by_rate[key].absorb(rate_sums)
            else:
                self.by_rate[key] = rate_sums
        for issued in (other.first_date, other.last_date):
            if issued is not None:
                self._see_date(issued)

    def manifest(self) -> dict[str, dict[str, int | str]]:
        """Totals per currency as manifest.json carries them (amounts as decimal strings)."""
        return {
            code: {
                "invoices": sums.invoices,
                "subtotal": str(sums.subtotal),
                "tax": str(sums.tax),
                "total": str(sums.total),
            }
            for code, sums in sorted(self.by_currency.items())
        }
