"""Why a request could not reach the service, in Spanish, for each way a connection fails.

Real sockets on loopback where the failure can be made here (refused, silent, not HTTP);
the TLS and name failures, which need another host, are raised as httpx raises them.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import httpx
import pytest
from reports_client import ReportsClient, ServiceUnavailable
from reports_client.network import reason


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket that accepts connections on loopback and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def port_of(server: socket.socket) -> int:
    port: int = server.getsockname()[1]
    return port


def failure(url: str, timeout: float = 1.0) -> str:
    """What the client says when it cannot get an answer from ``url``."""
    with (
        ReportsClient(url, timeout=timeout, retries=0) as client,
        pytest.raises(ServiceUnavailable) as error,
    ):
        client.report_types()
    return str(error.value)


def test_a_refused_connection_says_nobody_is_there() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = port_of(server)
    said = failure(f"http://127.0.0.1:{port}")
    assert said == (
        f"No se pudo conectar con el servicio en http://127.0.0.1:{port}: "
        f"nadie atiende en 127.0.0.1:{port} (conexión rechazada)."
    )


def test_a_silent_server_says_it_did_not_answer_in_time(listener: socket.socket) -> None:
    said = failure(f"http://127.0.0.1:{port_of(listener)}", timeout=0.3)
    assert said.endswith(f"127.0.0.1:{port_of(listener)} no respondió a tiempo.")


def test_a_server_that_is_not_http_says_so() -> None:
    server = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        connection, _ = server.accept()
        connection.recv(1024)
        connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
        connection.close()

    threading.Thread(target=answer, daemon=True).start()
    said = failure(f"http://127.0.0.1:{port_of(server)}")
    server.close()
    assert said.endswith("cortó la conexión o no responde en HTTP.")


def test_https_to_a_plain_http_port_says_it_does_not_speak_https(
    listener: socket.socket,
) -> None:
    def answer() -> None:
        connection, _ = listener.accept()
        connection.recv(1024)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        connection.close()

    threading.Thread(target=answer, daemon=True).start()
    said = failure(f"https://127.0.0.1:{port_of(listener)}")
    assert "no habla HTTPS (¿es http:// en vez de https://?)" in said


def wrapped(error: BaseException, kind: type[httpx.TransportError]) -> httpx.TransportError:
    """``error`` as httpx raises it: its own exception, raised from the OS's."""
    try:
        raise kind(str(error)) from error
    except httpx.TransportError as exc:
        return exc


URL = httpx.URL("https://reportes.empresa.com")


def test_an_unknown_host_is_named() -> None:
    unknown = socket.gaierror(-2, "Name or service not known")
    said = reason(wrapped(unknown, httpx.ConnectError), URL)
    assert said == "no se encontró el servidor reportes.empresa.com"


def test_an_untrusted_certificate_says_why() -> None:
    untrusted = ssl.SSLCertVerificationError(1, "certificate verify failed")
    untrusted.verify_message = "self-signed certificate"
    said = reason(wrapped(untrusted, httpx.ConnectError), URL)
    assert said == (
        "el certificado TLS de reportes.empresa.com:443 no es válido (self-signed certificate)"
    )


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        (httpx.ConnectTimeout, "reportes.empresa.com:443 no aceptó la conexión a tiempo"),
        (httpx.ReadTimeout, "reportes.empresa.com:443 no respondió a tiempo"),
        (httpx.ReadError, "se cortó la conexión con reportes.empresa.com:443"),
        (httpx.ConnectError, "no se pudo abrir una conexión con reportes.empresa.com:443"),
    ],
)
def test_every_other_failure_reads_in_spanish(kind: type[httpx.TransportError], said: str) -> None:
    assert reason(wrapped(OSError("timed out"), kind), URL) == said
