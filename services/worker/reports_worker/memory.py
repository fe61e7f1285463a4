"""Memory a finished job freed, given back to the system."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_MALLOC_TRIM = _malloc_trim()


def give_back_memory() -> None:
    """Return the heap a finished job freed to the system (glibc keeps it otherwise, and
    a worker that built a large report would hold its high-water mark between jobs)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
