"""``python -m reports_client``: the same as the ``async-reports`` command."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
