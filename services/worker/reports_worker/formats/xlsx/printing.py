"""How a workbook's sheets print: paper, orientation, scaling, header and footer.

Per-sheet constants, the same for both engines: a table prints landscape with its header
row on every page, fitted to the page's width unless that would make it unreadable; a
summary prints portrait, fitted to the width too. Every page names the report and the
sheet and says which page it is of how many.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Excel's paper size code for A4 (the product's users print on A4).
PAPER_A4 = 9
#: Margins in inches: left, right, top, bottom, header, footer.
MARGINS = (0.5, 0.5, 0.75, 0.75, 0.3, 0.3)
#: A table this many characters wide or narrower is scaled to the page's width; about
#: twice what landscape A4 holds at 100 %, so the text stays at least half its size.
FIT_MAX_CHARS = 280
#: Page numbers at the foot of every page ("Página 3 de 120").
PAGE_FOOTER = "&CPágina &P de &N"


@dataclass(frozen=True, slots=True)
class PrintSetup:
    """One sheet's print settings."""

    landscape: bool
    fit_to_width: bool
    repeat_header: bool
    gridlines: bool
    centered: bool


#: A free-form summary: one column of facts and small tables, on portrait pages.
SUMMARY_PRINT = PrintSetup(
    landscape=False, fit_to_width=True, repeat_header=False, gridlines=False, centered=True
)


def table_print(widths: Iterable[float]) -> PrintSetup:
    """A table's print settings: fitted to the width unless it is very wide."""
    return PrintSetup(
        landscape=True,
        fit_to_width=sum(widths) <= FIT_MAX_CHARS,
        repeat_header=True,
        gridlines=True,
        centered=False,
    )


def page_header(title: str) -> str:
    """The page header: the report's name in bold on the left, the sheet's on the right."""
    # "&" starts a code in headers: a literal one is doubled.
    name = title.replace("&", "&&")
    return f'&L&"-,Bold"{name}&R&A' if name else "&R&A"
