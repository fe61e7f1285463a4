"""A closed pipe (``async-reports status X | head -1``) is the reader's choice, not an error.

Python's own recipe (the ``signal`` module's note on SIGPIPE): once a write fails with
BrokenPipeError, point the stream's descriptor at /dev/null, so what follows, and the flush
at exit, goes nowhere quietly instead of failing again.
"""

from __future__ import annotations

import contextlib
import os
from typing import TextIO


def write(stream: TextIO, text: str) -> None:
    """Write ``text`` and flush it; on a closed pipe, drop it and all that follows."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        discard(stream)


def flush(stream: TextIO) -> None:
    """Send what ``stream`` holds now, while a closed pipe can still be dealt with."""
    try:
        stream.flush()
    except BrokenPipeError:
        discard(stream)
    except ValueError:
        pass  # closed already: nothing is held


def discard(stream: TextIO) -> None:
    """From now on, what ``stream`` holds and is given goes to /dev/null."""
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):
        return  # not a file (a StringIO): it cannot break, nothing to redirect
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)
    with contextlib.suppress(OSError):  # what the broken write left: gone either way
        stream.flush()
