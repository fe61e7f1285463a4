"""The service's text reaches the terminal with its control characters shown, not run."""

from __future__ import annotations

import io
import json

from reports_client.cli import Console
from reports_client.visible import multiline, shown

FORGED = "evil\x1b[2J\x1b[31mRED\r\nfake line\x07\x00\x9b2J\u202e"


def raw_controls(text: str) -> list[str]:
    """The control characters a terminal would act on (the command's own line breaks apart)."""
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0
            or 0x202A <= ord(c) <= 0x202E]  # fmt: skip


def test_one_piece_of_text_is_one_line_with_its_controls_escaped() -> None:
    assert shown(FORGED) == "evil\\x1b[2J\\x1b[31mRED\\r\\nfake line\\x07\\x00\\x9b2J\\u202e"
    assert shown("José Ñandú · 45 % — 🙂") == "José Ñandú · 45 % — 🙂"


def test_the_commands_own_lines_stay_and_nothing_else_runs() -> None:
    assert multiline(f"Usuario: {shown(FORGED)}\nTipo: x\x1b[2J") == (
        f"Usuario: {shown(FORGED)}\nTipo: x\\x1b[2J"
    )


def test_results_messages_and_errors_reach_the_terminal_escaped() -> None:
    out, err = io.StringIO(), io.StringIO()
    ui = Console(json_output=False, quiet=False, out=out, err=err)
    ui.result(f"Usuario: {FORGED}", {})
    ui.info(f"aviso {FORGED}")
    ui.error(f"el servicio dice: {FORGED}")
    assert raw_controls(out.getvalue() + err.getvalue()) == []
    assert err.getvalue().count("\n") == 2  # one line each: the error's CR/LF escaped


def test_json_output_keeps_the_value_and_holds_no_raw_control_character() -> None:
    out = io.StringIO()
    Console(json_output=True, quiet=False, out=out, err=io.StringIO()).result(
        "", {"userName": FORGED}
    )
    assert raw_controls(out.getvalue()) == []
    assert json.loads(out.getvalue()) == {"userName": FORGED}
