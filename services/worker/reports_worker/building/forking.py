"""How helper processes come to be: forked from the build's own process, when it needs them.

A helper forked from the build shares every page the build has (its modules, its
interpreter) until one side writes to it: the helper costs only what it writes, about
its batches' working set (+36 MB of PSS by tree at 45,000 invoices). A fork server,
started once per worker, cost ~30 MB PSS even while idle (itself and multiprocessing's
resource tracker), and its helpers shared their pages with it, not with the build
(+77 MB over one process during a build).

Forking a process that has threads is safe only for a child that touches no lock
another thread may hold at that moment. A helper runs the report's ``render`` on
batches (msgspec, Decimal, str: no locks of their own); CPython's ``os.fork`` takes
the import lock and resets the GIL and the threading and logging locks in the child,
and glibc's malloc its arenas. What it could still touch is the lock of a buffered
standard stream another thread was writing to: :func:`start_helper` gives the helper
streams of its own first. (Python 3.12 warns on a fork of a process with threads; the
worker runs 3.11.)
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import select
import sys
import threading
import time
from typing import Any


def start_helper(pid: int) -> None:
    """In a new helper: streams of its own, and exit as soon as process ``pid``, the
    build's, is gone.

    A helper waits on its work queue, whose pipe it holds both ends of: the kernel does
    not end that wait when the build dies, so each helper watches the build's process.
    """
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (for the life of the helper)
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    try:
        handle = os.pidfd_open(pid)
    except OSError:  # kernels before 5.3: look once a second
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])
        else:
            while _alive(pid):
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="watch-build", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


@functools.cache
def helper_context() -> Any:
    """The multiprocessing context helpers come from: forked from the build."""
    return multiprocessing.get_context("fork")
