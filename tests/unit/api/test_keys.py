"""The caller is told from the request's raw headers as ``request.headers.get`` tells it:
names in any case, the first of a repeated header, a Bearer token when X-API-Key is empty."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request

from reports_api.access.keys import ApiKeys, Principal, Role
from reports_api.errors import Unauthorized

CLIENT_KEY = "c" * 24
OPERATOR_KEY = "o" * 24
KEYS = ApiKeys(f"client:ana:{CLIENT_KEY},operator:ops:{OPERATOR_KEY}")
ANA = Principal("ana", Role.CLIENT)
OPS = Principal("ops", Role.OPERATOR)


def request(*headers: tuple[bytes, bytes]) -> Request[Any, Any, Any]:
    return Request({"type": "http", "headers": list(headers), "state": {}})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "caller"),
    [
        ([(b"x-api-key", CLIENT_KEY.encode())], ANA),
        ([(b"X-Api-Key", OPERATOR_KEY.encode())], OPS),
        ([(b"authorization", b"Bearer " + CLIENT_KEY.encode())], ANA),
        ([(b"Authorization", b"bearer  " + OPERATOR_KEY.encode())], OPS),
        ([(b"x-api-key", b""), (b"authorization", b"Bearer " + CLIENT_KEY.encode())], ANA),
        ([(b"x-api-key", CLIENT_KEY.encode()), (b"x-api-key", OPERATOR_KEY.encode())], ANA),
        ([(b"x-api-key", OPERATOR_KEY.encode()), (b"authorization", b"Bearer x")], OPS),
    ],
)
def test_the_caller_is_the_one_litestar_s_headers_name(
    headers: list[tuple[bytes, bytes]], caller: Principal
) -> None:
    req = request(*headers)
    assert KEYS.identify(req) == caller
    # the same key as request.headers.get gives
    named = req.headers.get("x-api-key") or req.headers.get("authorization", "")[7:].strip()
    assert KEYS.identify(request(*[(b"x-api-key", named.encode())])) == caller


@pytest.mark.parametrize(
    "headers",
    [[], [(b"x-api-key", b"")], [(b"authorization", b"Basic abc")], [(b"x-api-key", b"wrong")]],
)
def test_no_valid_key_is_refused(headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(Unauthorized):
        KEYS.identify(request(*headers))
