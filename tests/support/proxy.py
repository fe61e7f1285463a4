"""A TCP proxy in front of a test stack's api that breaks uploads on purpose.

Each of the first ``cuts`` connections to carry more than ``after`` bytes from the client is
cut right there (both ends see it die); with ``stall`` instead, such a connection stops
forwarding the client's bytes and holds on (a link gone silent) until the client goes away,
and then closes the api's side too. ``received`` counts every byte clients sent.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttingProxy:
    """A proxy to ``127.0.0.1:port`` that cuts (or stalls) connections mid-request."""

    def __init__(self, port: int, after: int, cuts: int = 1, stall: bool = False) -> None:
        self.port = port
        self.after = after
        self.cuts_left = cuts
        self.stall = stall
        self.received = 0
        #: Set once a connection has been cut or stalled.
        self.broke = threading.Event()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        """Stop taking connections (those open go on until either end closes)."""
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.port))
            except OSError:  # the api is down: the client sees its connection closed
                _close(client)
                continue
            threading.Thread(target=self._upstream, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _upstream(self, client: socket.socket, upstream: socket.socket) -> None:
        sent = 0
        while data := _recv(client):
            with self.lock:
                self.received += len(data)
                cut = self.cuts_left > 0 and sent + len(data) > self.after
                if cut:
                    self.cuts_left -= 1
            if cut:
                upstream.sendall(data[: self.after - sent])
                self.broke.set()
                if self.stall:
                    while more := _recv(client):  # swallowed: nothing more reaches the api
                        with self.lock:
                            self.received += len(more)
                _close(client, upstream)
                return
            sent += len(data)
            upstream.sendall(data)
        _close(client, upstream)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while data := _recv(source):
            try:
                target.sendall(data)
            except OSError:
                break
        _close(source, target)


def _recv(conn: socket.socket) -> bytes:
    try:
        return conn.recv(256 * 1024)
    except OSError:
        return b""


def _close(*conns: socket.socket) -> None:
    for conn in conns:
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_RDWR)
        conn.close()
