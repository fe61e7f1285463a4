"""Progress bars on stderr, without dependencies.

On a terminal a bar is one line redrawn in place (at most ten times a second); written to a
file or a pipe, only its final line is printed, so logs stay readable. A closed stderr drops
the bars, never the work they show.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from . import pipes

WIDTH = 28
#: Fewest seconds between two redraws of a bar.
REDRAW_SECONDS = 0.1


def human_bytes(count: float) -> str:
    """A byte count as people read it, in decimal units as the web page shows it (1 kB =
    1000 bytes): ``12,3 MB``, ``6 MB``, ``512 B``."""
    for unit in ("B", "kB", "MB", "GB"):
        # 999,5 kB and up read as 1 MB, never "1000 kB".
        if count < (1000 if unit == "B" else 999.5) or unit == "GB":
            text = f"{count:.0f}" if unit == "B" or count >= 100 else f"{count:.1f}"
            return f"{text.removesuffix('.0').replace('.', ',')} {unit}"
        count /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


class ProgressBar:
    """One labelled bar: ``update`` as work goes, ``close`` when it is done."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self.fraction = 0.0
        self.note = ""
        self._drawn_at = 0.0
        self.closed = False

    def update(self, fraction: float, note: str = "") -> None:
        """Show ``fraction`` (0 to 1) done, with a short note after the bar."""
        self.fraction = max(0.0, min(1.0, fraction))
        self.note = note
        now = time.monotonic()
        if self.live and now - self._drawn_at >= REDRAW_SECONDS:
            self._drawn_at = now
            pipes.write(self.stream, "\r" + self._line() + "\x1b[K")

    def bytes(self, done: int, total: int | None) -> None:
        """Show a byte count out of a total (the upload and download callbacks)."""
        if total:
            self.update(done / total, f"{human_bytes(done)} / {human_bytes(total)}")
        else:
            self.update(0.0, human_bytes(done))

    def close(self, note: str | None = None) -> None:
        """Draw the final state and end the line."""
        if self.closed or not self.enabled:
            return
        self.closed = True
        if note is not None:
            self.note = note
        prefix = "\r" if self.live else ""
        suffix = "\x1b[K\n" if self.live else "\n"
        pipes.write(self.stream, prefix + self._line() + suffix)

    def _line(self) -> str:
        filled = round(self.fraction * WIDTH)
        bar = "#" * filled + "-" * (WIDTH - filled)  # ASCII: any console can print it
        return f"{self.label:<14} [{bar}] {self.fraction * 100:3.0f} %  {self.note}".rstrip()
