"""The ``async-reports`` command's arguments and errors that need no service."""

from __future__ import annotations

from pathlib import Path

import pytest
from reports_client import Job
from reports_client.cli import Exit, build_parser, describe, main


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


def test_a_running_jobs_state_says_how_long_it_has_left() -> None:
    running = Job.from_json({"jobId": "j", "status": "Processing", "message": "",
                             "progress": {"recordsProcessed": 1234},
                             "estimatedSecondsLeft": 12})  # fmt: skip
    assert describe(running) == "Procesando · 1.234 registros · quedan ~12 s"


def test_a_queued_jobs_state_says_when_it_starts() -> None:
    queued = Job.from_json({"jobId": "j", "status": "Queued", "message": "",
                            "queuePosition": 2, "estimatedStartIn": 30.0})  # fmt: skip
    assert describe(queued) == "En cola (posición 2) · empieza en ~30 s"


@pytest.mark.parametrize("option", [["--type", "Tabular"], ["--status", "Failed"], ["-n", "5"]])
def test_history_filters_without_all_exit_2_before_contacting_the_service(
    option: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", "http://127.0.0.1:9", "list", *option]) == Exit.USAGE
    assert "--all" in capsys.readouterr().err
