"""ASGI entry for uvicorn workers: builds the app from the environment on first access."""

from __future__ import annotations

from typing import Any

from reports_shared.logs import configure_logging

from . import settings as api_settings
from .app import create_app
from .headrequests import HeadAsGet


def __getattr__(name: str) -> Any:
    # Module attribute made on demand, so importing this module runs nothing.
    if name == "app":
        settings = api_settings.load()
        configure_logging(settings.log_level, settings.log_format)
        return HeadAsGet(create_app(settings))
    raise AttributeError(name)
