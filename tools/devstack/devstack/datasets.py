"""Deterministic FacturacionMasiva datasets for demos, tests and benchmarks.

Invoices are rendered straight to text (no intermediate dicts, no ``json.dumps``) and
written in batches, so memory stays flat and 500 MB take seconds, not minutes. The same
``seed`` always gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip as gzip_module
import random
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

_COMPANY_WORDS = (
    "Andina",
    "del Pacífico",
    "Inca",
    "Los Andes",
    "Amazonía",
    "Norte",
    "Sur Chico",
    "Miraflores",
    "San Isidro",
    "Arequipa",
    "Cusco",
    "Huancayo",
    "Trujillo",
    "Chiclayo",
    "Piura",
)
_COMPANY_KINDS = (
    "Comercial",
    "Distribuidora",
    "Inversiones",
    "Corporación",
    "Servicios",
    "Importadora",
    "Textil",
    "Agroindustrias",
)
_COMPANY_FORMS = ("S.A.C.", "S.A.", "E.I.R.L.", "S.R.L.")
_PERSON_NAMES = (
    "María Quispe Mamani",
    "José Huamán Flores",
    "Rosa Condori Vargas",
    "Luis Rojas Chávez",
    "Ana Sánchez Torres",
    "Carlos Ramírez Díaz",
    "Lucía Mendoza Castillo",
    "Jorge Gutiérrez Ríos",
)
_PRODUCTS = (
    ("P-100", "Papel bond A4 (millar)", "12.50"),
    ("P-101", "Tóner HP 85A", "245.90"),
    ("P-102", "Archivador de palanca", "8.40"),
    ("S-200", "Servicio de mantenimiento preventivo", "350.00"),
    ("S-201", "Soporte técnico por hora", "85.00"),
    ("A-300", "Arroz extra saco 50 kg", "189.00"),
    ("A-301", "Aceite vegetal caja x12", "96.35"),
    ("A-302", "Azúcar rubia bolsa 5 kg", "19.99"),
    ("T-400", "Polo algodón pima talla M", "45.00"),
    ("T-401", 'Casaca "impermeable" talla L', "159.90"),
    ("E-500", "Laptop 14 pulgadas, 16 GB", "3299.00"),
    ("E-501", "Mouse inalámbrico", "39.90"),
    ("F-600", "Flete Lima–Arequipa", "420.00"),
    ("F-601", "Combustible diésel galón", "17.85"),
)
_STREETS = ("Av. Javier Prado Este", "Jr. de la Unión", "Av. Arequipa", "Calle Los Olivos")
_TAX_RATES = ("0.18", "0.18", "0.18", "0.18", "0.10", "0")
_CURRENCIES = ("PEN",) * 7 + ("USD",) * 3
_SERIES = ("F001", "F002", "F003", "B001")
_NOTES = ("", "", "", "Pago a 30 días", "Entrega en almacén central", "Orden de compra 4521")
_SELLER = "Async Reports Demo S.A.C. (RUC 20601234567)"
_FIRST_DAY = date(2024, 1, 1)
_BATCH = 2000

#: One invalid invoice per kind, in turn; each breaks exactly one rule of the contract.
_INVALID = (
    '{{"invoiceNumber": "", "issueDate": "2024-02-01", "currency": "PEN", '
    '"customer": {{"taxId": "20100047218", "name": "Sin Número S.A.C."}}, '
    '"items": [{{"quantity": 1, "unitPrice": 10.00, "taxRate": 0.18}}]}}',
    '{{"invoiceNumber": "X{n:08d}", "issueDate": "2024-02-30", "currency": "PEN", '
    '"customer": {{"taxId": "20100047218", "name": "Fecha Mala S.A."}}, '
    '"items": [{{"quantity": 1, "unitPrice": 10.00, "taxRate": 0.18}}]}}',
    '{{"invoiceNumber": "X{n:08d}", "issueDate": "2024-03-01", "currency": "XYZ", '
    '"customer": {{"taxId": "20100047218", "name": "Moneda Rara S.A."}}, '
    '"items": [{{"quantity": 1, "unitPrice": 10.00, "taxRate": 0.18}}]}}',
    '{{"invoiceNumber": "X{n:08d}", "issueDate": "2024-03-02", "currency": "USD", '
    '"customer": {{"taxId": "20100047218", "name": "Cantidad Negativa S.A."}}, '
    '"items": [{{"quantity": -2, "unitPrice": 10.00, "taxRate": 0.18}}]}}',
    '{{"invoiceNumber": "X{n:08d}", "issueDate": "2024-03-03", "currency": "PEN", '
    '"customer": {{"name": "Sin RUC S.A."}}, '
    '"items": [{{"quantity": 1, "unitPrice": 10.00, "taxRate": 0.18}}]}}',
    '{{"invoiceNumber": "X{n:08d}", "issueDate": "2024-03-04", "currency": "PEN", '
    '"customer": {{"taxId": "20100047218", "name": "Descuento Excesivo S.A."}}, '
    '"items": [{{"quantity": 1, "unitPrice": 10.00, "taxRate": 0.18, "discount": 50}}]}}',
    '{{"invoiceNumber": "X{n:08d}", "issueDate": "2024-03-05", "currency": "PEN", '
    '"customer": {{"taxId": "20100047218", "name": "Sin Ítems S.A."}}, "items": []}}',
)


def _company(rng: random.Random) -> str:
    return f"{rng.choice(_COMPANY_KINDS)} {rng.choice(_COMPANY_WORDS)} {rng.choice(_COMPANY_FORMS)}"


def _customer(rng: random.Random) -> str:
    if rng.random() < 0.8:
        tax_id = f"20{rng.randrange(100_000_000, 999_999_999)}"
        name = _company(rng)
        email = f'"pagos{rng.randrange(1000)}@empresa{rng.randrange(500)}.pe"'
    else:
        tax_id = f"{rng.randrange(10_000_000, 99_999_999)}"
        name = rng.choice(_PERSON_NAMES)
        email = "null"
    address = f"{rng.choice(_STREETS)} {rng.randrange(100, 3000)}, {rng.choice(_COMPANY_WORDS)}"
    return (
        f'{{"taxId": "{tax_id}", "name": "{name}", "email": {email}, '
        f'"address": "{address}", "country": "PE"}}'
    )


def _item(rng: random.Random) -> str:
    sku, description, price = rng.choice(_PRODUCTS)
    quantity = rng.choice(("1", "2", "3", "5", "10", "12", "0.5", "2.75", "100"))
    discount = rng.choice(("0", "0", "0", "0", "1.00", "0.50", "2.35"))
    description = description.replace('"', '\\"')
    return (
        f'{{"sku": "{sku}", "description": "{description}", "quantity": {quantity}, '
        f'"unitPrice": {price}, "taxRate": {rng.choice(_TAX_RATES)}, "discount": {discount}, '
        f'"unitCode": "NIU"}}'
    )


def render_invoice(rng: random.Random, n: int) -> str:
    """One valid invoice as compact JSON text, numbered ``n``."""
    issued = _FIRST_DAY + timedelta(days=rng.randrange(366))
    items = ", ".join(_item(rng) for _ in range(rng.randint(1, 5)))
    notes = rng.choice(_NOTES)
    terms = rng.choice(("Contado", "Crédito 30 días", "Crédito 60 días"))
    notes_field = f', "notes": "{notes}"' if notes else ""
    return (
        f'{{"invoiceNumber": "{rng.choice(_SERIES)}-{n:08d}", "issueDate": "{issued.isoformat()}", '
        f'"currency": "{rng.choice(_CURRENCIES)}", "customer": {_customer(rng)}, '
        f'"items": [{items}]{notes_field}, "seller": "{_SELLER}", "paymentTerms": "{terms}"}}'
    )


def iter_invoices(count: int, seed: int = 2024, invalid_every: int = 0) -> Iterator[str]:
    """Invoices as JSON texts; every ``invalid_every``-th one (1-based) breaks a rule."""
    rng = random.Random(seed)
    for n in range(1, count + 1):
        if invalid_every and n % invalid_every == 0:
            yield _INVALID[(n // invalid_every) % len(_INVALID)].format(n=n)
        else:
            yield render_invoice(rng, n)


def _write_text(out: BinaryIO, invoices: Iterator[str], ndjson: bool) -> int:
    separator, opening, closing = ("\n", "", "\n") if ndjson else (",\n", "[\n", "\n]\n")
    written = out.write(opening.encode())
    batch: list[str] = []
    lead = ""  # no separator before the first batch
    for text in invoices:
        batch.append(text)
        if len(batch) == _BATCH:
            written += out.write((lead + separator.join(batch)).encode())
            batch.clear()
            lead = separator
    if batch:
        written += out.write((lead + separator.join(batch)).encode())
    return written + out.write(closing.encode())


def write_invoices(
    target: str | Path | BinaryIO,
    count: int,
    *,
    seed: int = 2024,
    invalid_every: int = 0,
    gzip: bool = False,
    ndjson: bool = False,
) -> int:
    """Write ``count`` invoices as a JSON array (or NDJSON), optionally gzipped; text bytes."""
    invoices = iter_invoices(count, seed=seed, invalid_every=invalid_every)
    with ExitStack() as stack:
        # A caller's stream stays open; a path is opened and closed here.
        raw = (
            stack.enter_context(Path(target).open("wb"))
            if isinstance(target, str | Path)
            else target
        )
        if not gzip:
            return _write_text(raw, invoices, ndjson)
        # mtime=0 keeps gzipped output byte-identical between runs.
        packed = stack.enter_context(
            gzip_module.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0)
        )
        return _write_text(packed, invoices, ndjson)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m devstack.datasets COUNT OUT [--invalid-every N] [--gzip]``."""
    parser = argparse.ArgumentParser(prog="python -m devstack.datasets", description=__doc__)
    parser.add_argument("count", type=int, help="number of invoices")
    parser.add_argument("out", help="output file, '-' for stdout")
    parser.add_argument("--invalid-every", type=int, default=0, metavar="N")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--ndjson", action="store_true")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    target: Path | BinaryIO = sys.stdout.buffer if args.out == "-" else Path(args.out)
    write_invoices(
        target,
        args.count,
        seed=args.seed,
        invalid_every=args.invalid_every,
        gzip=args.gzip,
        ndjson=args.ndjson,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
