"""Ports handed to test and benchmark services: free, and never one the kernel may give an
outgoing connection meanwhile (the ephemeral range), which would keep a service from binding."""

from __future__ import annotations

import socket
from pathlib import Path

from devstack.stack import FREE_PORTS, free_port


def _ephemeral() -> range:
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except OSError:  # not Linux: the IANA range
        low, high = 49152, 65535
    return range(low, high + 1)


def test_a_free_port_is_outside_the_ephemeral_range_and_can_be_listened_on() -> None:
    ephemeral = _ephemeral()
    for _ in range(20):
        port = free_port()
        assert port in FREE_PORTS and port not in ephemeral
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
            sock.listen()
