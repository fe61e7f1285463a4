"""The ``async-reports`` command's arguments and errors that need no service."""

from __future__ import annotations

from pathlib import Path

import pytest
from reports_client.cli import Exit, build_parser, main


def test_the_url_comes_from_the_option_before_or_after_the_command_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASYNC_REPORTS_URL", "http://desde-el-entorno:8000")
    parser = build_parser()
    assert parser.parse_args(["types"]).url == "http://desde-el-entorno:8000"
    assert parser.parse_args(["--url", "http://antes", "types"]).url == "http://antes"
    assert parser.parse_args(["types", "--url", "http://despues"]).url == "http://despues"


def test_options_are_name_value_pairs(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["submit", "d.json", "-t", "Tabular", "-u", "ana", "--option", "hoja=Ventas"]
    )
    assert args.options == [("hoja", "Ventas")]
    with pytest.raises(SystemExit) as usage:
        build_parser().parse_args(["submit", "d.json", "-t", "Tabular", "--option", "sin-igual"])
    assert usage.value.code == Exit.USAGE


def test_a_missing_file_exits_2_before_contacting_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--url", "http://127.0.0.1:9", "submit", str(tmp_path / "no.json"),
                 "-t", "Tabular", "-u", "ana"])  # fmt: skip
    assert code == Exit.USAGE
    assert "no existe el archivo" in capsys.readouterr().err


def test_submit_without_a_user_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASYNC_REPORTS_USER", raising=False)
    data = tmp_path / "d.json"
    data.write_text("[]")
    assert main(["submit", str(data), "-t", "Tabular"]) == Exit.USAGE
    assert "--user" in capsys.readouterr().err
