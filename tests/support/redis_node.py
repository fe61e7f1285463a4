"""A fake Redis on loopback, for tests of what our clients do when Redis misbehaves: it
speaks just enough RESP for redis-py 8's handshake (HELLO, CLIENT, SELECT, PING), and a
test's handler answers every other command, or hangs up."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class FakeNode(socketserver.ThreadingTCPServer):
    """The server: counts the connections it accepted, and those still open."""

    daemon_threads = True
    allow_reuse_address = True
    #: Connections waiting to be accepted. socketserver's default, 5, made a burst of
    #: concurrent connections overflow the queue on a loaded machine: the kernel dropped
    #: their SYNs, and one retried twice reached the client's 3 s connect timeout.
    request_queue_size = 256

    def __init__(self, handler: type[NodeHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.connections = 0
        self.open = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        """Its redis:// URL."""
        return f"redis://127.0.0.1:{self.server_address[1]}/0"


class NodeHandler(socketserver.StreamRequestHandler):
    """One connection: the handshake's commands answered here, the others by ``answer``."""

    server: FakeNode

    def handle(self) -> None:
        with self.server.lock:
            self.server.connections += 1
            self.server.open += 1
            number = self.server.connections
        try:
            self._serve(number)
        finally:
            with self.server.lock:
                self.server.open -= 1

    def _serve(self, number: int) -> None:
        while command := self._command():
            name = command[0].upper()
            if name == b"HELLO":  # redis-py 8 speaks RESP3: a map with the protocol
                self.wfile.write(b"%1\r\n$5\r\nproto\r\n:3\r\n")
            elif name in (b"CLIENT", b"SELECT"):
                self.wfile.write(b"+OK\r\n")
            elif name == b"PING":
                self.wfile.write(b"+PONG\r\n")
            elif not self.answer(number, command):
                return  # hang up

    def answer(self, connection: int, command: list[bytes]) -> bool:
        """Answer ``command`` on the ``connection``-th connection (1 is the first); False
        to hang up instead."""
        raise NotImplementedError

    def _command(self) -> list[bytes] | None:
        """One RESP array of bulk strings, as clients send commands; None at EOF."""
        header = self.rfile.readline()
        if not header.startswith(b"*"):
            return None
        parts = []
        for _ in range(int(header[1:])):
            length = int(self.rfile.readline()[1:])
            parts.append(self.rfile.read(length + 2)[:-2])
        return parts


@contextmanager
def serving(handler: type[NodeHandler]) -> Iterator[FakeNode]:
    """A node answering with ``handler``, served in a thread for the ``with`` block."""
    node = FakeNode(handler)
    thread = threading.Thread(target=node.serve_forever, daemon=True)
    thread.start()
    try:
        yield node
    finally:
        node.shutdown()
        node.server_close()
