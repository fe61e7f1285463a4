"""Ports handed to test and benchmark services: free, and never one the kernel may give an
outgoing connection meanwhile (the ephemeral range), which would keep a service from binding."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from devstack.stack import FREE_PORTS, bindable, free_port


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


#: Each process asks for two ports of a narrowed range, and says which it got.
_ASK = """
import sys
from pathlib import Path
import devstack.stack as stack
stack.FREE_PORTS = range(int(sys.argv[1]), int(sys.argv[1]) + 8)
stack.CLAIMS = Path(sys.argv[2])
print(stack.free_port(), stack.free_port())
"""


def test_processes_asking_at_once_are_never_handed_the_same_port(tmp_path: Path) -> None:
    # Given eight free ports in a row, and four processes that each ask for two at once
    base = next(
        b
        for b in range(FREE_PORTS.start, FREE_PORTS.stop, 8)
        if all(bindable(p) for p in range(b, b + 8))
    )
    claims = str(tmp_path / "claims.json")
    asking = [
        subprocess.Popen([sys.executable, "-c", _ASK, str(base), claims], stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    # When none of them binds what it got (a service may take seconds to)
    handed = [int(port) for process in asking for port in process.communicate()[0].split()]

    # Then each port was handed out once (before: any of the eight, each time)
    assert sorted(handed) == list(range(base, base + 8))
