"""The service's address: what a person types for --url, checked before any request."""

from __future__ import annotations

import pytest
from reports_client import InvalidAddress, ReportsClient
from reports_client.address import service_url


@pytest.mark.parametrize(
    ("typed", "used"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://reportes.empresa.com/", "https://reportes.empresa.com"),
        ("  http://[::1]:8000 ", "http://[::1]:8000"),
        ("http://proxy.empresa.com/reportes/", "http://proxy.empresa.com/reportes"),
        # the API's own address, as the docs write it, is the service's too
        ("http://127.0.0.1:8000/api/AsyncReports/", "http://127.0.0.1:8000"),
    ],
)
def test_an_address_is_taken_as_typed_or_as_the_apis(typed: str, used: str) -> None:
    assert service_url(typed) == used


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("127.0.0.1:8000", "no dice el protocolo: escriba http:// o https:// delante"),
        ("localhost:8000", "no dice el protocolo"),
        ("reportes.empresa.com", "no dice el protocolo"),
        ("ftp://reportes.empresa.com", "usa el protocolo 'ftp'"),
        ("http://:8000", "no dice el servidor"),
        ("http:///api", "no dice el servidor"),
        ("http://reportes empresa.com", "nombre de servidor no válido"),
        ("http://reportes.empresa.com:ocho", "el puerto debe ser un número"),
    ],
)
def test_a_mistyped_address_says_what_is_wrong_in_spanish(typed: str, said: str) -> None:
    with pytest.raises(InvalidAddress) as error:
        service_url(typed)
    assert said in str(error.value)
    assert f"'{typed.strip()}'" in str(error.value)
    assert "protocol." not in str(error.value)  # httpx's own words never show


def test_the_client_refuses_a_mistyped_address_before_any_request() -> None:
    with pytest.raises(InvalidAddress, match="no dice el protocolo"):
        ReportsClient("127.0.0.1:8000")
