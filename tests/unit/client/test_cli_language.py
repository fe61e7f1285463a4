"""The command speaks Spanish throughout, argparse's own words included, and --help and
every subcommand's -h show examples."""

from __future__ import annotations

import re

import pytest
from reports_client.cli import Exit, build_parser, main

#: What argparse prints in English unless told otherwise.
ENGLISH = ["usage:", "positional arguments", "optional arguments", "options:",
           "show this help message", "show program's version", "invalid choice",
           "the following arguments are required", "unrecognized arguments",
           "expected one argument", "choose from", "error: argument ", "invalid int value",
           "invalid float value", "JobStatus."]  # fmt: skip
COMMANDS = ["submit", "wait", "download", "status", "cancel", "list", "webhook", "types"]


def english_in(text: str) -> list[str]:
    return [phrase for phrase in ENGLISH if phrase in text]


def shown(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of the command line ``argv``."""
    with pytest.raises(SystemExit) as ended:
        main(argv)
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err


def test_help_is_spanish_with_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = shown(["--help"], capsys)
    assert code == 0
    assert out.startswith("uso: async-reports ")
    assert "\nargumentos:\n" in out and "\nopciones:\n" in out
    assert re.search(r"-h, --help +muestra esta ayuda y termina", out)
    assert "ejemplos:\n  async-reports types\n" in out
    assert "códigos de salida:" in out and "130  interrumpido" in out
    assert max(len(line) for line in out.split("ejemplos:")[1].splitlines()) < 80
    assert english_in(out) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_each_commands_help_is_spanish_with_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = shown([command, "-h"], capsys)
    assert code == 0
    assert out.startswith(f"uso: async-reports {'wait' if command == 'download' else command} ")
    assert "\nejemplos:\n" in out
    assert f"  async-reports {command}" in out.split("ejemplos:")[1]
    assert max(len(line) for line in out.split("ejemplos:")[1].splitlines()) < 80
    assert english_in(out) == []


def test_a_long_subcommand_keeps_its_help_on_its_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    _, out, _ = shown(["--help"], capsys)
    line = next(line for line in out.splitlines() if "wait (download)" in line)
    assert "espera a que un trabajo termine" in line


def test_submits_help_names_whole_commands_and_what_waiting_takes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    _, out, _ = shown(["submit", "-h"], capsys)
    options = " ".join(out.split("ejemplos:")[0].split())  # the lines joined as one text
    # The command to run for the types, in full, not "(vea 'types')"
    assert "tipo de reporte (los disponibles: async-reports types)" in options
    assert "'types'" not in options
    # --timeout: its default, and that it counts only when the command waits
    assert "--timeout SEGUNDOS con --wait o -o, espera a lo más SEGUNDOS" in options
    assert "(por omisión, sin límite)" in options
    assert "--poll con --wait o -o," in options
    # -o says where the report goes, and that it waits; no "aquí" that says nothing
    assert "guarda el reporte ZIP en RUTA" in options and " aquí" not in options


def test_waits_help_says_download_saves_in_the_current_folder(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    for argv in (["--help"], ["wait", "-h"]):
        _, out, _ = shown(argv, capsys)
        text = " ".join(out.split())
        assert "sin -o en la carpeta actual" in text, argv
        assert "lo guarda aquí" not in text
    assert "(por omisión, sin límite)" in " ".join(out.split())
    assert "con --wait o -o" not in out  # wait always waits


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["lisst"], "argumento COMANDO: valor no válido: 'lisst' (elija entre 'submit',"),
        (["list", "--all", "-s", "Mal"], "valor no válido: 'Mal' (elija entre 'Queued',"),
        (["submit"], "error: faltan los argumentos: ARCHIVO, -t/--type"),
        (["status", "x", "--bogus"], "error: argumentos desconocidos: --bogus"),
        (["status", "--url"], "argumento --url: falta su valor"),
        (["list", "--all", "-n", "muchos"], "debe ser un número entero mayor que cero, no"),
        (["wait", "x", "--timeout", "pronto"], "debe ser un número de segundos mayor que cero"),
    ],
)
def test_usage_errors_are_spanish_and_exit_2(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = shown(argv, capsys)
    assert code == Exit.USAGE
    assert out == ""
    assert err.startswith("uso: async-reports")
    assert said in err
    assert english_in(err) == []


def test_the_parser_leaves_argparse_english_for_everyone_else() -> None:
    import argparse

    build_parser().format_help()
    assert "usage:" in argparse.ArgumentParser(prog="otro").format_help()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("127.0.0.1:8000", "no dice el protocolo: escriba http:// o https:// delante"),
        ("ftp://reportes.empresa.com", "usa el protocolo 'ftp'"),
        ("http://:8000", "no dice el servidor"),
    ],
)
def test_a_mistyped_url_exits_2_saying_what_is_wrong(
    url: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", url, "types"]) == Exit.USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: La dirección del servicio")
    assert said in err and "ASYNC_REPORTS_URL" in err
    assert "protocol." not in err and "Request URL" not in err  # httpx's words
