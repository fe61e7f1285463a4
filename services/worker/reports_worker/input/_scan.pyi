"""Types of the C extension ``_scan.c`` (its header says what ``follow`` returns)."""

def follow(
    data: bytes, depth: int, in_string: bool, escaped: bool, level: int, max_depth: int, /
) -> tuple[int, bool, bool, int, int, int, int]: ...
