"""A real webhook receiver for the tests: an HTTP server on loopback that keeps what it got."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    #: Deliveries waiting to be accepted: the default, 5, drops the SYNs of a burst on a
    #: loaded machine, and each waits a second for the kernel to try again.
    request_queue_size = 128


@dataclass(frozen=True)
class Delivery:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def verified(self, secret: str) -> dict[str, Any]:
        """The event, checked by the Standard Webhooks library's own verifier (raises
        ``WebhookVerificationError`` on a bad signature or an old timestamp)."""
        verified: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return verified


class Receiver:
    """Listens on ``bind``:``port`` (0: any free port) and answers each POST with the code
    ``answer`` gives (200 unless changed). ``start``/``stop`` can be called again to make
    it unreachable for a while on the same port."""

    def __init__(self, port: int = 0, bind: str = "127.0.0.1") -> None:
        self.port = port
        self.bind = bind
        self.deliveries: list[Delivery] = []
        self.answer: Callable[[Delivery], int] = lambda _: 200
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                delivery = Delivery(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                    at=time.time(),
                )
                with receiver._lock:
                    receiver.deliveries.append(delivery)
                self.send_response(receiver.answer(delivery))
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = _Server((self.bind, self.port), Handler)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
