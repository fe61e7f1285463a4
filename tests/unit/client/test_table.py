"""Columns of the CLI's lists fitted to the terminal's width."""

from __future__ import annotations

from reports_client.table import Column, fit

JOB_ID = "6f1c2d3e-0000-4000-8000-1234567890ab"
COLUMNS = [Column("TRABAJO", least=None), Column("ESTADO", least=10),
           Column("TIPO", drop=2), Column("USUARIO", drop=1)]  # fmt: skip
ROW = [JOB_ID, "Procesando 45 % · quedan ~12 s", "FacturacionMasiva", "ana@empresa.com"]


def test_columns_that_fit_are_shown_whole_and_aligned() -> None:
    lines = fit(COLUMNS, [ROW, [JOB_ID, "Completado", "Tabular", "luis"]], 200)
    assert lines[1] == "  ".join([JOB_ID, ROW[1], ROW[2], ROW[3]])
    assert lines[0].index("ESTADO") == lines[2].index("Completado") == len(JOB_ID) + 2


def test_a_narrow_terminal_cuts_the_widest_cells_and_no_line_is_longer() -> None:
    lines = fit(COLUMNS, [ROW], 90)
    assert all(len(line) <= 90 for line in lines)
    assert lines[1].startswith(JOB_ID + "  ")
    assert "…" in lines[1]


def test_a_column_that_is_never_cut_stays_whole_while_others_give_way() -> None:
    lines = fit(COLUMNS, [ROW], 50)
    assert lines[0].split() == ["TRABAJO", "ESTADO"]  # the user, then the type, left out
    assert lines[1] == f"{JOB_ID}  Procesando…"
    assert all(len(line) <= 50 for line in lines)


def test_numbers_are_right_aligned() -> None:
    lines = fit([Column("N", least=None, right=True)], [["7"], ["1.234"]], 80)
    assert lines == ["    N", "    7", "1.234"]


def test_a_cells_control_characters_are_shown_escaped_on_its_own_line() -> None:
    # An older job's userName that would clear the screen and forge a line of the table
    forged = "evil\x1b[2J\x1b[31mRED\r\nfake line"
    lines = fit(COLUMNS, [[*ROW[:3], forged]], 200)
    assert len(lines) == 2
    assert lines[1].endswith("evil\\x1b[2J\\x1b[31mRED\\r\\nfake line")
    assert not any(ord(char) < 0x20 for line in lines for char in line)
