"""Columns of text fitted to a terminal's width: shortened, or dropped, never spilling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import visible

#: Spaces between two columns.
GAP = 2
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its title, how narrow it may get, and when it gives way to the others."""

    title: str
    #: Narrowest it is cut to; None: never cut (a job id must be copied whole).
    least: int | None = 8
    #: Right-aligned (numbers).
    right: bool = False
    #: Order in which columns are left out when even their narrowest do not fit: the
    #: highest first; 0 is never left out.
    drop: int = 0


def fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """The title line and one line per row, each at most ``width`` characters wide (unless
    the columns that are never cut nor left out are wider by themselves); a cell's control
    characters are escaped, so it stays on its line and in its column."""
    rows = [[visible.shown(cell) for cell in row] for row in rows]
    natural = [
        max([len(column.title), *(len(row[i]) for row in rows)]) for i, column in enumerate(columns)
    ]
    narrowest = [
        natural[i] if c.least is None else min(natural[i], c.least) for i, c in enumerate(columns)
    ]
    shown = list(range(len(columns)))
    while _span(shown, narrowest) > width and any(columns[i].drop for i in shown):
        shown.remove(max(shown, key=lambda i: columns[i].drop))
    sizes = {i: natural[i] for i in shown}
    excess = _span(shown, natural) - width
    while excess > 0:
        # The column with the most room above its narrowest gives up one character.
        widest = max(shown, key=lambda i: sizes[i] - narrowest[i])
        if sizes[widest] <= narrowest[widest]:
            break
        sizes[widest] -= 1
        excess -= 1
    lines = [[column.title for column in columns], *rows]
    return [_line(columns, shown, sizes, cells) for cells in lines]


def _span(shown: Sequence[int], widths: Sequence[int]) -> int:
    return sum(widths[i] for i in shown) + GAP * max(0, len(shown) - 1)


def _line(
    columns: Sequence[Column], shown: Sequence[int], sizes: dict[int, int], cells: Sequence[str]
) -> str:
    parts = []
    for i in shown:
        text = _cut(cells[i], sizes[i])
        parts.append(text.rjust(sizes[i]) if columns[i].right else text.ljust(sizes[i]))
    return (" " * GAP).join(parts).rstrip()


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: max(0, size - 1)].rstrip() + ELLIPSIS
