"""Run the api: ``python -m reports_api``."""

from __future__ import annotations

import sys

import uvicorn

from reports_shared.errors import ConfigurationError
from reports_shared.logs import configure_logging

from . import settings as api_settings
from .access.keys import ApiKeys
from .intake.callbacks import Callbacks
from .settings import ApiSettings

#: Exit code of a configuration error (sysexits' EX_CONFIG): fix the setting, then restart.
EXIT_CONFIG = 78


def main() -> None:
    """Serve the api with uvicorn on AR_API_HOST:AR_API_PORT; a wrong setting is one line
    saying which and why, and exit code 78, before any server process starts."""
    try:
        settings = api_settings.load()
        check(settings)
    except ConfigurationError as exc:
        print(f"reports_api: configuration error: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        "reports_api.asgi:app",
        host=settings.api_host,
        port=settings.api_port,
        workers=settings.server_processes,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=30,
    )


def check(settings: ApiSettings) -> None:
    """Read the settings each server process reads at startup, so that a wrong one stops
    the api here, once, rather than in every process with a traceback."""
    ApiKeys(settings.api_keys)
    Callbacks(settings.webhook_defaults, settings.webhook_allow_private_addresses)


if __name__ == "__main__":
    main()
