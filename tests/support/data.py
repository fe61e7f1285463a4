"""Sample records: invoices of the FacturacionMasiva contract, as dicts and as JSON."""

from __future__ import annotations

import base64
import copy
import json
import os
from collections.abc import Iterable
from typing import Any

#: One small valid invoice, as the seed's clients send it (the integration tests' sample).
INVOICE: dict[str, Any] = {
    "invoiceNumber": "F001-00000001",
    "issueDate": "2024-01-15",
    "currency": "PEN",
    "customer": {"taxId": "20123456789", "name": "Comercial Andina S.A.C."},
    "items": [{"sku": "P-100", "description": "Papel", "quantity": 3, "unitPrice": 12.50,
               "taxRate": 0.18, "discount": 0}],
}  # fmt: skip

#: About 1 MB of Demora records (ending in a comma) that gzip does not shrink: random padding,
#: repeated further apart than deflate's 32 KiB window. The api stores datasets compressed,
#: so a test that needs storage to receive parts while it uploads sends these: ``{"sleep": 0}``
#: over and over takes a thousandth of its size once stored.
INCOMPRESSIBLE_RECORDS = b"".join(
    b'{"sleep": 0, "pad": "' + base64.b64encode(os.urandom(60_000)) + b'"},' for _ in range(13)
)

#: The contract's example invoice, every optional field set (what ``invoice`` copies).
BASE_INVOICE: dict[str, Any] = {
    "invoiceNumber": "F001-00012345",
    "issueDate": "2024-01-15",
    "currency": "PEN",
    "customer": {
        "taxId": "20123456789",
        "name": "Comercial Andina S.A.C.",
        "email": "pagos@andina.pe",
    },
    "items": [
        {
            "sku": "P-100",
            "description": "Papel bond A4",
            "quantity": 3,
            "unitPrice": 12.50,
            "taxRate": 0.18,
            "discount": 0,
        }
    ],
    "notes": "opcional",
}


def invoice(number: str = "F001-00012345", **changes: Any) -> dict[str, Any]:
    """A valid invoice (the contract's example) with top-level fields changed."""
    record = copy.deepcopy(BASE_INVOICE)
    record["invoiceNumber"] = number
    record.update(changes)
    return record


def item(**fields: Any) -> dict[str, Any]:
    """An item with quantity 1, price 10 and no tax unless told otherwise."""
    return {"quantity": 1, "unitPrice": 10, "taxRate": 0, **fields}


def as_json(records: Iterable[Any]) -> bytes:
    """Records as a JSON array; numbers written as given (no float round trip)."""
    return json.dumps(list(records), ensure_ascii=False).encode()
