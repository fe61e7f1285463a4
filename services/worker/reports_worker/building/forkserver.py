"""The server helper processes are forked from, started once (multiprocessing's forkserver).

Helpers are never forked from the worker itself, whose threads may hold locks at any
moment; each watches the build's process, and exits when it is gone.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.forkserver
import os
import select
import threading
import time
from typing import Any

#: Modules the helpers' server imports once, so that a helper starts ready (by name: the
#: report types sit above the build, which must not import them).
PRELOAD = ["reports_worker.building.helpers", "reports_worker.reporttypes.facturacion"]


def watch_parent(pid: int) -> None:
    """In a helper: exit as soon as process ``pid``, the build's, is gone.

    A helper is a child of the fork server, not of the build's process: the kernel does
    not tell it when the build dies, and it would wait for ever on its work queue (it
    holds both ends of that pipe). So each helper watches the build's process itself.
    """
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
    """The forkserver context helpers come from (its server started on first use)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def start_helper_server() -> None:
    """Start the helpers' server now (about 0.2 s), not during the first build."""
    helper_context()
    multiprocessing.forkserver.ensure_running()
