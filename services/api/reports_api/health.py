"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Response, get

from reports_shared.errors import ReportsError

from .state import Services


class HealthController(Controller):
    """GET /health (the process answers) and GET /ready (its dependencies answer)."""

    tags = ["Health"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/health")
    async def health(self) -> dict[str, str]:
        """Alive."""
        return {"status": "ok"}

    @get("/ready")
    async def ready(self, services: Services) -> Response[dict[str, Any]]:
        """200 when Redis, RabbitMQ and storage answer; 503 naming those that do not."""
        checks = {
            "redis": services.jobs.ping(),
            "rabbitmq": services.publisher.ping(),
            "storage": asyncio.to_thread(services.objects.ping),
        }
        results = await asyncio.gather(*checks.values(), return_exceptions=True)
        status = {
            name: "ok" if not isinstance(result, BaseException) else _reason(result)
            for name, result in zip(checks, results, strict=True)
        }
        ready = all(value == "ok" for value in status.values())
        return Response(
            {"status": "ready" if ready else "unavailable", "checks": status},
            status_code=200 if ready else 503,
            headers=None if ready else {"Retry-After": "5"},
        )


def _reason(exc: BaseException) -> str:
    return type(exc).__name__ if isinstance(exc, ReportsError) else f"error: {type(exc).__name__}"
