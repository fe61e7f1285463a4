"""Run the api: ``python -m reports_api``."""

from __future__ import annotations

import uvicorn

from reports_shared.logs import configure_logging

from . import settings as api_settings


def main() -> None:
    """Serve the api with uvicorn on AR_API_HOST:AR_API_PORT."""
    settings = api_settings.load()
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


if __name__ == "__main__":
    main()
