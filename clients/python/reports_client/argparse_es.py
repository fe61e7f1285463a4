"""argparse in Spanish: its own text (usage, headings, -h, errors) like the rest of the command.

argparse writes every phrase of its own through gettext (``_("usage: ")``), looked up when
the phrase is used. ``Parser`` swaps argparse's ``_`` and ``ngettext`` for this table's
while it builds, parses and formats, and puts them back after: the process's gettext and
any other parser stay untouched, and a phrase a newer Python adds stays in English rather
than breaking anything. The table holds the phrases of Python 3.11 to 3.14.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

#: argparse's phrases, in Spanish.
MESSAGES: dict[str, str] = {
    "usage: ": "uso: ",
    "positional arguments": "argumentos",
    "options": "opciones",
    "optional arguments": "opciones",
    "subcommands": "comandos",
    "%(heading)s:": "%(heading)s:",
    "show this help message and exit": "muestra esta ayuda y termina",
    "show program's version number and exit": "muestra la versión y termina",
    " (default: %(default)s)": " (por omisión: %(default)s)",
    "%(prog)s: error: %(message)s\n": "%(prog)s: error: %(message)s\n",
    "%(prog)s: warning: %(message)s\n": "%(prog)s: aviso: %(message)s\n",
    "argument %(argument_name)s: %(message)s": "argumento %(argument_name)s: %(message)s",
    "unrecognized arguments: %s": "argumentos desconocidos: %s",
    "the following arguments are required: %s": "faltan los argumentos: %s",
    "one of the arguments %s is required": "hace falta uno de los argumentos %s",
    "not allowed with argument %s": "no se puede usar junto con %s",
    "ignored explicit argument %r": "no lleva valor: se ignoró %r",
    "expected one argument": "falta su valor",
    "expected at most one argument": "admite a lo más un valor",
    "expected at least one argument": "requiere al menos un valor",
    "invalid choice: %(value)r (choose from %(choices)s)": (
        "valor no válido: %(value)r (elija entre %(choices)s)"
    ),
    "invalid choice: %(value)r, maybe you meant %(closest)r? (choose from %(choices)s)": (
        "valor no válido: %(value)r; ¿quiso decir %(closest)r? (elija entre %(choices)s)"
    ),
    "invalid %(type)s value: %(value)r": "valor no válido: %(value)r",
    "ambiguous option: %(option)s could match %(matches)s": (
        "opción ambigua: %(option)s puede ser %(matches)s"
    ),
    "unexpected option string: %s": "opción inesperada: %s",
    "unknown parser %(parser_name)r (choices: %(choices)s)": (
        "comando desconocido %(parser_name)r (elija entre %(choices)s)"
    ),
    "can't open '%(filename)s': %(error)s": "no se puede abrir '%(filename)s': %(error)s",
    "command '%(parser_name)s' is deprecated": "el comando '%(parser_name)s' está en desuso",
    "option '%(option)s' is deprecated": "la opción '%(option)s' está en desuso",
    "argument '%(argument_name)s' is deprecated": (
        "el argumento '%(argument_name)s' está en desuso"
    ),
}

#: argparse's phrases that depend on a count: (singular, plural) in Spanish.
PLURALS: dict[str, tuple[str, str]] = {
    "expected %s argument": ("requiere %s valor", "requiere %s valores"),
}


def gettext(message: str) -> str:
    """``message`` in Spanish, or as it is if the table lacks it."""
    return MESSAGES.get(message, message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """``singular`` or ``plural`` for ``count``, in Spanish when the table has it."""
    if singular in PLURALS:
        one, many = PLURALS[singular]
        return one if count == 1 else many
    return singular if count == 1 else plural


@contextmanager
def spanish() -> Iterator[None]:
    """argparse speaks Spanish inside the block."""
    module: Any = argparse  # its _ and ngettext are module globals, read at each call
    saved = module._, module.ngettext
    module._, module.ngettext = gettext, ngettext
    try:
        yield
    finally:
        module._, module.ngettext = saved


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (the examples keep their lines)."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        # Python before 3.13 measures subcommands without their indent, so a long one
        # ("wait (download)") pushed its help onto the next line.
        if action.help is not argparse.SUPPRESS:
            for sub in self._iter_indented_subactions(action):  # indents while it yields
                length = len(self._format_action_invocation(sub)) + self._current_indent
                self._action_max_length = max(self._action_max_length, length)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose own text is Spanish; its subcommands' parsers are too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        with spanish():
            super().__init__(*args, **kwargs)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> argparse.Namespace:
        with spanish():  # "unrecognized arguments" is worded here, not in parse_known_args
            parsed: argparse.Namespace = super().parse_args(args, namespace)
        return parsed

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        with spanish():
            return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with spanish():
            return super().format_usage()

    def format_help(self) -> str:
        with spanish():
            return super().format_help()

    def error(self, message: str) -> NoReturn:
        with spanish():
            super().error(message)
