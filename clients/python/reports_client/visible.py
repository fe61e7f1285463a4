"""Text from the service made harmless for a terminal: its control characters shown, not run.

A job's userName, message or error is what some client sent or a worker wrote; an operator
listing every client's jobs must not have one client's ESC sequences clear the screen, nor
its CR/LF forge a line of the table. The service refuses such characters now, but older
jobs may still hold them, so the command escapes them as Python does (``\\x1b``, ``\\n``).
"""

from __future__ import annotations

import json
from typing import Any

#: Unicode's bidirectional overrides and isolates: they reorder what follows on the line.
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
#: The C0 and C1 control characters (ESC, BEL, CR, LF, NUL, CSI...), DEL, bidi controls.
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), *_BIDI]
_ESCAPED = {code: chr(code).encode("unicode_escape").decode("ascii") for code in _CONTROLS}
_ESCAPED.update({code: f"\\u{code:04x}" for code in _BIDI})
#: In the command's own text, its line breaks stay (the service's text was escaped first).
_IN_LINES = {code: text for code, text in _ESCAPED.items() if code != ord("\n")}
#: What ``json.dumps`` leaves as it is: escaped the JSON way, the value unchanged.
_IN_JSON = {code: f"\\u{code:04x}" for code in _CONTROLS if code >= 0x7F}


def shown(text: str) -> str:
    """One piece of the service's text, on one line with its control characters escaped."""
    return text.translate(_ESCAPED)


def multiline(text: str) -> str:
    """The command's text, its own line breaks kept, any other control character escaped."""
    return text.translate(_IN_LINES)


def json_text(data: Any) -> str:
    """``data`` as indented JSON: its strings' values unchanged, no raw control character."""
    return json.dumps(data, ensure_ascii=False, indent=2).translate(_IN_JSON)
