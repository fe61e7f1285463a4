"""Which callback URLs may be called, the signing secrets, the retry schedule."""

from __future__ import annotations

import ipaddress

import pytest

from reports_shared.webhooks import (
    CallbackRefused,
    check_callback_url,
    is_public,
    public_addresses,
    retry_schedule,
    shown_url,
    signing_secret,
)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1",
     "::ffff:127.0.0.1", "2001:db8::1"],
)  # fmt: skip
def test_non_public_addresses_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_a_public_url_passes_stripped() -> None:
    assert check_callback_url("  https://erp.example.com/hooks?x=1 ") == (
        "https://erp.example.com/hooks?x=1"
    )
    assert check_callback_url("http://8.8.8.8:8080/h") == "http://8.8.8.8:8080/h"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/", "http://LOCALHOST/", "http://app.localhost/", "http://[::1]/",
     "http://10.0.0.1/", "http://[::ffff:192.168.0.1]/"],
)  # fmt: skip
def test_private_hosts_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(CallbackRefused, match="privada"):
        check_callback_url(url)
    assert check_callback_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    ("host", "address"),
    [("2130706433", "127.0.0.1"), ("0", "0.0.0.0"), ("0x7f.1", "127.0.0.1"),
     ("0177.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"),
     ("10.1", "10.0.0.1"), ("169.254.43518", "169.254.169.254"), ("2130706433.", "127.0.0.1")],
)  # fmt: skip
def test_every_form_a_resolver_takes_for_an_ipv4_address_is_judged_as_that_address(
    host: str, address: str
) -> None:
    # inet_aton's forms (decimal, hex, octal, short): a resolver connects to ``address``
    with pytest.raises(CallbackRefused, match="privada") as refused:
        check_callback_url(f"http://{host}/x")
    assert f"({address})" in str(refused.value)
    assert check_callback_url(f"http://{host}/x", allow_private=True) == f"http://{host}/x"


@pytest.mark.parametrize("host", ["134744072", "0x8080808", "8.8.2056", "cafe", "1e3.example"])
def test_numeric_forms_of_public_addresses_and_names_that_only_look_numeric_pass(
    host: str,
) -> None:
    assert check_callback_url(f"http://{host}/x") == f"http://{host}/x"


@pytest.mark.parametrize(
    "url",
    ["https://example.com/\x1b[2J", "https://exa\r\nmple.com/", "https://example.com/\th",
     "https://example.com/\x9b"],
)  # fmt: skip
def test_control_characters_are_refused(url: str) -> None:
    with pytest.raises(CallbackRefused, match="caracteres de control"):
        check_callback_url(url)


def test_a_name_resolving_to_loopback_is_refused_at_delivery_and_allowed_when_set() -> None:
    with pytest.raises(CallbackRefused, match=r"'localhost' \((127\.0\.0\.1|::1)\)"):
        public_addresses("http://localhost:9/x")
    assert set(public_addresses("http://localhost:9/x", allow_private=True)) <= {
        "127.0.0.1",
        "::1",
    }


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(CallbackRefused, match="no se pudo resolver"):
        public_addresses("http://no-such-host.invalid/x")


def test_secrets_differ_by_key_name_and_server_secret_and_are_stable() -> None:
    one = signing_secret("server-secret", "erp")
    assert one == signing_secret("server-secret", "erp")
    assert one.startswith("whsec_")
    assert one != signing_secret("server-secret", "crm")
    assert one != signing_secret("another-secret", "erp")


def test_the_schedule_is_read_from_the_setting() -> None:
    assert retry_schedule("5, 300,1800") == [5.0, 300.0, 1800.0]
    with pytest.raises(ValueError, match="not a list"):
        retry_schedule("5,soon")
    with pytest.raises(ValueError, match="negative"):
        retry_schedule("5,-1")


def test_shown_urls_keep_no_query_nor_password() -> None:
    assert shown_url("https://u:p@erp.example.com:8443/h?token=s3cret#x") == (
        "https://erp.example.com:8443/h"
    )
