"""The caller is told from the request's raw headers as ``request.headers.get`` tells it:
names in any case, the first of a repeated header, a Bearer token when X-API-Key is empty."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from litestar import Request

from reports_api.access.keys import ApiKeys, Principal, Role
from reports_api.errors import Unauthorized
from reports_shared.errors import ConfigurationError

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


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("client:alice:keyAlice123", "entry 1 (client:alice:…) has a key of 11 characters"),
        (f"client:ana:{CLIENT_KEY},admin:b:{OPERATOR_KEY}", "entry 2 (admin:b:…) has role 'admin'"),
        (f"client::{CLIENT_KEY}", "entry 1 (client::…) has no name"),
        ("operator:ops", "entry 1 (operator:ops:…) has no key"),
    ],
)  # fmt: skip
def test_a_wrong_entry_is_named_with_what_is_wrong_and_never_its_key(spec: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        ApiKeys(spec)
    assert says in str(refused.value)
    assert "keyAlice123" not in str(refused.value) and CLIENT_KEY not in str(refused.value)


def test_the_api_stopped_by_a_wrong_key_says_it_in_one_line_and_exits_78(tmp_path: Path) -> None:
    # A short key: the api exits before any server process, with no traceback
    env = {"PATH": os.environ["PATH"], "AR_S3_ACCESS_KEY": "a", "AR_S3_SECRET_KEY": "b",
           "AR_TOKEN_SECRET": "t" * 32, "AR_API_KEYS": "client:alice:keyAlice123"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "reports_api"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 78
    assert done.stderr.splitlines() == [
        "reports_api: configuration error: AR_API_KEYS: entry 1 (client:alice:…) has a key of "
        "11 characters, under 16; entries are role:name:key separated by commas, role client "
        "or operator, key at least 16 characters"
    ]
