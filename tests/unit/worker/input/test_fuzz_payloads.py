"""Property: the payload reader and FacturacionMasiva agree with a plain reference.

Any generated payload (an array, an object wrapping arrays, NDJSON; odd whitespace,
numbers in every JSON form, wrong types, nested junk, invalid bytes, truncation, gzip,
a BOM) is either refused with a message (InvalidPayload) or yields exactly what the
reference below computes with ``json.loads`` and Decimal arithmetic, as CONTRACT.md
states the rules: the records processed, the records rejected and the totals per
currency. A payload the reference accepts and that was not damaged on purpose must not
be refused. The ZIP stays within ZIP_FACTOR times the (decompressed) input plus
OUTPUT_CONSTANT.

Profiles, chosen with ``HYPOTHESIS_PROFILE``: ``ci`` (200 cases, about 20 s; the
default), ``fuzz`` (5,000) and ``triage`` (300, no shrinking, every distinct failure
reported). They apply to this test only. What the property found is pinned in
test_fuzz_findings.py.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from reports_shared.errors import InvalidPayload
from reports_worker.reporttypes import build_report

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "triage",
    max_examples=300,
    deadline=None,
    phases=[Phase.reuse, Phase.generate],
    report_multiple_bugs=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ZIP_FACTOR = 2
OUTPUT_CONSTANT = 64 << 10
CURRENCIES_VALID = {"PEN", "USD", "EUR"}


# ---- JSON text with numbers written exactly as generated ---------------------------


@dataclass(frozen=True)
class Num:
    """A JSON number, written as ``text``."""

    text: str


@dataclass(frozen=True)
class Obj:
    """A JSON object as ordered pairs (duplicate keys allowed)."""

    pairs: tuple[tuple[str, Any], ...]


def dump(value: Any, ws: list[str], at: list[int]) -> str:
    """JSON text of ``value``, whitespace taken in turn from ``ws`` between tokens."""

    def pad() -> str:
        at[0] += 1
        return ws[at[0] % len(ws)]

    if isinstance(value, Num):
        return value.text
    if isinstance(value, Obj):
        inner = ",".join(
            f"{pad()}{json.dumps(k, ensure_ascii=False)}{pad()}:{pad()}{dump(v, ws, at)}{pad()}"
            for k, v in value.pairs
        )
        return "{" + (inner or pad()) + "}"
    if isinstance(value, list):
        inner = ",".join(f"{pad()}{dump(v, ws, at)}{pad()}" for v in value)
        return "[" + (inner or pad()) + "]"
    return json.dumps(value, ensure_ascii=isinstance(value, str) and len(value) % 2 == 1)


# ---- strategies --------------------------------------------------------------------

EXPONENTS = st.sampled_from([0, 1, 2, 5, 14, 15, 16, 19, 20, 21, 22, 30, 400, 999999])


@st.composite
def json_numbers(draw: st.DrawFn) -> Num:
    """A number in any JSON form: sign, integer part, fraction, exponent (e/E, signs)."""
    sign = draw(st.sampled_from(["", "", "", "-"]))
    whole = draw(st.sampled_from(["0", "1", "3", "10", "999999999999999", "1000000000000000"]))
    whole = draw(st.one_of(st.just(whole), st.from_regex(r"\A[1-9][0-9]{0,14}\Z")))
    frac = draw(st.one_of(st.just(""), st.from_regex(r"\A\.[0-9]{1,10}\Z")))
    exp = ""
    if draw(st.integers(0, 3)) == 0:
        letter = draw(st.sampled_from("eE"))
        esign = draw(st.sampled_from(["", "+", "-"]))
        exp = f"{letter}{esign}{draw(EXPONENTS)}"
    return Num(sign + whole + frac + exp)


SANE = {
    "quantity": ["1", "3", "2.5", "10", "0.001"],
    "unitPrice": ["0", "12.50", "39.90", "0.005", "1.255", "96.35"],
    "taxRate": ["0", "0.18", "0.10", "1", "0.075"],
    "discount": ["0", "1.00", "0.50", "2"],
}
JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.text(max_size=5), json_numbers()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(st.tuples(st.text(max_size=4), inner), max_size=3).map(
            lambda pairs: Obj(tuple(pairs))
        ),
    ),
    max_leaves=8,
)


def field_value(name: str) -> st.SearchStrategy[Any]:
    """A value for an item's numeric field: mostly sane, sometimes any form, or junk."""
    return st.one_of(
        st.sampled_from(SANE[name]).map(Num),
        st.sampled_from(SANE[name]),  # numbers as strings
        json_numbers(),
        JUNK,
    )


@st.composite
def items(draw: st.DrawFn) -> Obj:
    pairs: list[tuple[str, Any]] = []
    for name in ("quantity", "unitPrice", "taxRate", "discount"):
        roll = draw(st.integers(0, 19))
        if roll < 17:
            pairs.append((name, Num(draw(st.sampled_from(SANE[name])))))
        elif roll < 19 or name == "discount":
            pairs.append((name, draw(field_value(name))))
    for name in ("sku", "description"):
        if draw(st.booleans()):
            pairs.append((name, draw(st.one_of(st.text(max_size=6), st.none(), JUNK))))
    if draw(st.integers(0, 5)) == 5:
        pairs.append(("extra", draw(JUNK)))
    return Obj(tuple(draw(st.permutations(pairs))))


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` nine times in ten (Hypothesis would pick evenly in a one_of)."""
    return st.integers(0, 9).flatmap(lambda roll: bad if roll == 9 else good)


@st.composite
def invoices(draw: st.DrawFn) -> Any:
    # Hypothesis leans to small integers: the rare outcomes sit at the top of each range.
    if draw(st.integers(0, 15)) == 15:
        return draw(JUNK)
    text = st.text(max_size=8)
    header: dict[str, st.SearchStrategy[Any]] = {
        "invoiceNumber": mostly(st.from_regex(r"\AF[0-9]{3}-[0-9]{1,8}\Z"), text | JUNK),
        "issueDate": mostly(
            st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(date.isoformat),
            st.sampled_from(["2024-02-30", "20240115", "2024-1-5", ""]) | JUNK,
        ),
        "currency": st.sampled_from(["PEN", "USD", "EUR"] * 4 + ["pen", "XXX", "", 604]),
        "customer": st.builds(
            lambda tax, name, email: Obj(
                tuple((k, v) for k, v in (("taxId", tax), ("name", name), ("email", email)))
            ),
            st.one_of(
                st.from_regex(r"\A[0-9]{8,11}\Z"), st.integers(0, 10**11).map(lambda n: Num(str(n)))
            ),
            mostly(
                st.sampled_from(["Comercial Andina S.A.C.", "Ñandú", "=HYPERLINK()", "a,b"]),
                st.text(max_size=8),
            ),
            st.one_of(st.none(), st.just("a@b.pe")),
        ),
        "items": st.integers(0, 9).flatmap(
            lambda roll: st.lists(items(), max_size=0 if roll == 9 else 3, min_size=roll < 9)
        ),
        "notes": st.one_of(st.none(), text),
    }
    pairs: list[tuple[str, Any]] = []
    for name, strategy in header.items():
        roll = draw(st.integers(0, 59))
        if roll == 59:
            continue  # missing
        value = draw(JUNK) if roll == 58 else draw(strategy)
        pairs.append((name, value))
    return Obj(tuple(pairs))


WHITESPACE = st.lists(st.sampled_from(["", "", " ", "\n", "\t", "\r\n", " \n\t "]), min_size=1)
LINE_WHITESPACE = st.lists(st.sampled_from(["", "", " ", "\t", "\r"]), min_size=1)


@dataclass
class Case:
    """A generated payload and whether it was damaged on purpose."""

    data: bytes
    damaged: bool = False
    notes: list[str] = field(default_factory=list)


@st.composite
def payloads(draw: st.DrawFn) -> Case:
    records = draw(mostly(st.lists(invoices(), min_size=1, max_size=8), st.just([])))
    shape = draw(st.sampled_from(["array", "object", "object", "ndjson"]))
    if shape == "ndjson":
        ws = draw(LINE_WHITESPACE)
        lines = [dump(record, ws, [0]) for record in records]
        text = draw(st.sampled_from(["\n", "\r\n", "\n\n"])).join(lines)
    elif shape == "array":
        text = dump(records, draw(WHITESPACE), [0])
    else:
        key = draw(st.sampled_from(["facturas", "data", "a.b", "ñ"]))
        before = draw(st.lists(st.tuples(st.text(max_size=3), JUNK), max_size=2))
        after = draw(st.lists(st.tuples(st.text(max_size=3), JUNK), max_size=2))
        text = dump(Obj((*before, (key, records), *after)), draw(WHITESPACE), [0])
    case = Case(text.encode("utf-8"), notes=[shape])
    damage = draw(st.integers(0, 9))
    if damage == 9 and case.data:
        cut = draw(st.integers(0, len(case.data) - 1))
        case.data, case.damaged = case.data[:cut], True
        case.notes.append("truncated")
    elif damage == 8:
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"]", b"}", b",", b"x"]))
        at = draw(st.integers(0, len(case.data)))
        case.data, case.damaged = case.data[:at] + junk + case.data[at:], True
        case.notes.append("inserted bytes")
    elif damage == 7:
        case.data = b"[" * 300 + case.data
        case.damaged = True
        case.notes.append("deep nesting")
    if draw(st.integers(0, 9)) == 9:
        case.data = b"\xef\xbb\xbf" + case.data
        case.notes.append("bom")
    if draw(st.integers(0, 9)) == 9:
        case.data = gzip.compress(case.data, mtime=0)
        case.notes.append("gzip")
    return case


# ---- the reference -----------------------------------------------------------------

EXACT = Context(prec=200, rounding=ROUND_HALF_UP)
CENT = Decimal("0.01")
LIMIT = Decimal(10) ** 15
TINY = Decimal("1e-20")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Refused(Exception):
    """The reference refuses the payload as a whole."""


@dataclass
class Expected:
    processed: int = 0
    rejected: int = 0
    totals: dict[str, dict[str, Any]] = field(default_factory=dict)


class Pairs(dict[str, Any]):
    """A decoded object that remembers its pairs in order, duplicates too."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def loads(text: str) -> Any:
    return json.loads(
        text, parse_float=Decimal, object_pairs_hook=Pairs, parse_constant=_no_constants
    )


def content_of(data: bytes) -> bytes:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise Refused("gzip") from exc
    return data.removeprefix(b"\xef\xbb\xbf")


def records_of(content: bytes) -> list[Any]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused("utf-8") from exc
    try:
        whole = loads(text)
    except ValueError:
        whole = None
    else:
        if isinstance(whole, list):
            return whole
        if isinstance(whole, Pairs):
            arrays = [value for _, value in whole.pairs if isinstance(value, list)]
            if len(arrays) != 1:
                raise Refused("arrays in object")
            return arrays[0]
        raise Refused("scalar")
    lines = [line for line in text.split("\n") if line.strip(" \t\r\n")]
    try:
        records = [loads(line) for line in lines]
    except ValueError as exc:
        raise Refused("ndjson") from exc
    # NDJSON is told from JSON by its first line, a whole object (docs/integrators/reports.md);
    # a later line that is not an object is a rejected record.
    if not records or not isinstance(records[0], Pairs):
        raise Refused("ndjson whose first line is not an object")
    return records


def non_empty(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def amount(value: Any) -> Decimal | None:
    """A JSON number (or a numeric string, as msgspec reads them) as a Decimal."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return None
    return None


def in_bounds(value: Decimal) -> bool:
    """Contract's magnitudes, and the bound on decimals (docs/integrators/reports.md)."""
    if not value.is_finite() or value >= LIMIT:
        return False
    if value == 0:
        exponent = value.as_tuple().exponent
        return isinstance(exponent, int) and exponent >= -20
    return value.copy_abs() >= TINY  # copy_abs: no context, so no Overflow past Emax


def priced(record: Any) -> tuple[str, Decimal, Decimal] | None:
    """(currency, subtotal, tax) of a valid invoice; None if the contract rejects it."""
    if not isinstance(record, dict):
        return None
    number = record.get("invoiceNumber")
    if not isinstance(number, str) or not non_empty(number) or len(number) > 100:
        return None
    issued = record.get("issueDate")
    if not isinstance(issued, str) or not DATE.fullmatch(issued):
        return None
    try:
        date.fromisoformat(issued)
    except ValueError:
        return None
    if not isinstance(record.get("currency"), str) or record["currency"] not in CURRENCIES_VALID:
        return None
    customer = record.get("customer")
    if not isinstance(customer, dict):
        return None
    tax_id = customer.get("taxId")
    if not (non_empty(tax_id) or (type(tax_id) is int and 0 <= tax_id < 2**63)):
        return None
    if not non_empty(customer.get("name")):
        return None
    if customer.get("email") is not None and not isinstance(customer.get("email"), str):
        return None
    for name in ("notes",):
        if record.get(name) is not None and not isinstance(record.get(name), str):
            return None
    lines = record.get("items")
    if not isinstance(lines, list) or not lines:
        return None
    subtotal = tax = Decimal(0)
    with localcontext(EXACT):
        for line in lines:
            result = line_amounts(line)
            if result is None:
                return None
            subtotal += result[0]
            tax += result[1]
    return record["currency"], subtotal, tax


def line_amounts(line: Any) -> tuple[Decimal, Decimal] | None:
    if not isinstance(line, dict):
        return None
    for name in ("sku",):
        if line.get(name) is not None and not isinstance(line.get(name), str | int):
            return None
        if isinstance(line.get(name), bool):
            return None
    if line.get("description") is not None and not isinstance(line.get("description"), str):
        return None
    values = [amount(line.get(name)) for name in ("quantity", "unitPrice", "taxRate")]
    discount = Decimal(0) if line.get("discount") is None else amount(line.get("discount"))
    if discount is None or any(value is None for value in values):
        return None
    quantity, price, rate = values
    assert quantity is not None and price is not None and rate is not None
    if not all(in_bounds(value) for value in (quantity, price, rate, discount)):
        return None
    if not (quantity > 0 and price >= 0 and 0 <= rate <= 1 and discount >= 0):
        return None
    if discount > quantity * price:
        return None
    net = (quantity * price - discount).quantize(CENT, ROUND_HALF_UP)
    if net >= LIMIT:
        return None
    return net, (net * rate).quantize(CENT, ROUND_HALF_UP)


def reference(data: bytes) -> Expected:
    """What the contract says a payload gives, or Refused."""
    records = records_of(content_of(data))
    expected = Expected()
    for record in records:
        result = priced(record)
        if result is None:
            expected.rejected += 1
            continue
        expected.processed += 1
        code, subtotal, tax = result
        sums = expected.totals.setdefault(
            code, {"invoices": 0, "subtotal": Decimal(0), "tax": Decimal(0)}
        )
        sums["invoices"] += 1
        sums["subtotal"] += subtotal
        sums["tax"] += tax
    if expected.processed == 0:
        raise Refused("no usable record")
    for sums in expected.totals.values():
        sums["total"] = str(sums["subtotal"] + sums["tax"])
        sums["subtotal"], sums["tax"] = str(sums["subtotal"]), str(sums["tax"])
    return expected


# ---- the property ------------------------------------------------------------------


def run_product(data: bytes, dest: Path) -> Any:
    return build_report("FacturacionMasiva", io.BytesIO(data), dest, job_id="fuzz")


def check(case: Case) -> None:
    """The property, for one payload."""
    note(f"payload {case.notes}: {case.data!r}")
    try:
        expected: Expected | None = reference(case.data)
    except Refused as why:
        expected = None
        event(f"reference refuses: {why}")
    with tempfile.TemporaryDirectory() as workdir:
        dest = Path(workdir) / "out.zip"
        try:
            outcome = run_product(case.data, dest)
        except InvalidPayload as refusal:
            assert str(refusal), "a refusal says why"
            event("product refuses")
            assert expected is None or case.damaged, (
                f"a sound payload was refused: {refusal} ({case.notes}); "
                f"the reference gives {expected}"
            )
            return
        event("product builds")
        assert expected is not None, f"the product built what the reference refuses {case.notes}"
        assert outcome.records_processed == expected.processed
        assert outcome.records_rejected == expected.rejected
        assert outcome.manifest["totals"] == expected.totals
        size = len(content_of(case.data))
        assert dest.stat().st_size <= ZIP_FACTOR * size + OUTPUT_CONSTANT


@PROFILE
@given(payloads())
def test_any_payload_is_refused_or_gives_what_the_reference_gives(case: Case) -> None:
    # Given any generated payload / When the report is built / Then it matches the reference
    check(case)
