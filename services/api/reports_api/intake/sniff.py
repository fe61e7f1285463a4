"""A dataset's first bytes: what it looks like when it cannot be JSON (a PDF, a CSV, a ZIP).

A dataset is an array of records, an object holding one, or NDJSON of objects, as text or
gzip: after an optional BOM and whitespace it starts with ``[`` or ``{``, or it is gzip.
Anything else is refused before it is stored, naming what it looks like, instead of being
queued to fail in the worker with a parser's message about byte 0.
"""

from __future__ import annotations

from reports_shared.constants import GZIP_MAGIC

from ..errors import UnsupportedMediaType

#: Bytes looked at; enough for magic numbers and a CSV's first line.
HEAD_BYTES = 512

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"

#: Magic numbers of files people send by mistake, and what each is called.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "un PDF"),
    (b"PK\x03\x04", "un ZIP (o un libro de Excel .xlsx)"),
    (b"PK\x05\x06", "un ZIP vacío"),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "un libro de Excel antiguo (.xls) o un documento de Office",
    ),
    (b"\x89PNG", "una imagen PNG"),
    (b"\xff\xd8\xff", "una imagen JPEG"),
    (b"GIF8", "una imagen GIF"),
    (b"Rar!", "un archivo RAR"),
    (b"7z\xbc\xaf", "un archivo 7-Zip"),
    (b"BZh", "un archivo bzip2 (se admite gzip)"),
    (b"\xfd7zXZ", "un archivo xz (se admite gzip)"),
    (b"\x28\xb5\x2f\xfd", "un archivo zstd (se admite gzip)"),
    (b"\xff\xfe", "texto UTF-16 (guárdelo como UTF-8)"),
    (b"\xfe\xff", "texto UTF-16 (guárdelo como UTF-8)"),
)


def looks_like(head: bytes) -> str | None:
    """What ``head`` (a dataset's first bytes) looks like when it cannot be a dataset, in
    Spanish ("un PDF"); None when it may be one (or is too blank to tell)."""
    if head.startswith(GZIP_MAGIC):
        return None
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    text = head.removeprefix(_BOM).lstrip(_WHITESPACE)
    if not text or text[:1] in b"[{":
        return None
    return _text_kind(text)


def _text_kind(text: bytes) -> str:
    if text[:1] == b"<":
        return "XML o HTML"
    if text[:1] in b'"-0123456789' or text.startswith((b"true", b"false", b"null")):
        first_line = text.split(b"\n", 1)[0]
        if not _delimited(first_line):
            return "un valor JSON suelto (un número, un texto, true, false o null)"
    if _delimited(text.split(b"\n", 1)[0]):
        return "un CSV"
    if b"\x00" in text:
        return "un archivo binario"
    return "texto que no es JSON"


def _delimited(line: bytes) -> bool:
    """A first line of fields split by commas, semicolons or tabs (a CSV's header)."""
    return any(line.count(sep) >= 1 for sep in (b",", b";", b"\t")) and b"{" not in line


def refuse(what: str, looks: str) -> UnsupportedMediaType:
    """The 415 for a dataset that is not JSON: what it looks like and what is expected."""
    return UnsupportedMediaType(
        f"{what} no es JSON: parece {looks}. Se espera un arreglo JSON de registros (o un "
        "objeto que lo contenga, o NDJSON), como texto UTF-8 o comprimido con gzip."
    )


def check_head(head: bytes, what: str) -> None:
    """Raise the 415 when ``head`` cannot start a dataset; ``what`` names the field."""
    looks = looks_like(head)
    if looks is not None:
        raise refuse(what, looks)
