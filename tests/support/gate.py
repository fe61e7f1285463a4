"""A relay in front of S3 storage that holds one request until the test lets it go.

The stack talks to storage through it (``AR_S3_ENDPOINT``). A test names the start of a
request (``PUT /bucket/results/<job>/``, say); when that request arrives the relay says so
and keeps it until ``release()``: the moment a test makes something happen (a cancel) while
a service waits on storage, decided by the test and not by the machine's speed. Every other
byte passes through untouched, so signed requests and download links work as before.
"""

from __future__ import annotations

import contextlib
import socket
import threading

#: Longest a request is held (a test that forgets to release it fails, never hangs).
HOLD_LIMIT_SECONDS = 120


class StorageGate:
    """A TCP relay on a free loopback port to ``upstream`` (host:port)."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host or "127.0.0.1", int(port))
        self.arrived = threading.Event()
        self._released = threading.Event()
        self._pattern: bytes | None = None
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])

    @property
    def endpoint(self) -> str:
        """host:port for the stack's ``AR_S3_ENDPOINT``."""
        return f"127.0.0.1:{self.port}"

    def hold(self, start: bytes) -> None:
        """Hold the next request whose bytes contain ``start`` (once)."""
        with self._lock:
            self._pattern = start
            self.arrived.clear()
            self._released.clear()

    def release(self) -> None:
        """Let the held request (and any later one) through."""
        self._released.set()

    def __enter__(self) -> StorageGate:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        with self._lock:
            sockets = [self._server, *self._sockets]
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
                server = socket.create_connection(self.upstream)
            except OSError:
                return  # closed by __exit__
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        try:
            while data := source.recv(65536):
                if requests and self._matches(data):
                    self.arrived.set()
                    self._released.wait(HOLD_LIMIT_SECONDS)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def _matches(self, data: bytes) -> bool:
        with self._lock:
            if self._pattern is None or self._pattern not in data:
                return False
            self._pattern = None
            return True
