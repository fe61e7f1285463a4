"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Response, get, head
from litestar.di import NamedDependency

from reports_shared.errors import ReportsError

from .state import Services


class HealthController(Controller):
    """GET /health (the process answers) and GET /ready (its dependencies answer)."""

    tags = ["Health"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/health")
    async def health(self) -> dict[str, str]:
        """Alive."""
        return {"status": "ok"}

    # HEAD as GET without the body (RFC 9110 9.3.2), for monitors that probe with it: Litestar
    # answers 405 to a HEAD that has no handler of its own. Not in the API's docs.
    @head("/health", include_in_schema=False)
    async def health_head(self) -> Response[None]:
        """Alive, without a body."""
        return Response(None, status_code=200)

    @get("/ready")
    async def ready(self, services: NamedDependency[Services]) -> Response[dict[str, Any]]:
        """200 when Redis, RabbitMQ and storage answer; 503 naming those that do not."""
        body, status_code, headers = await _readiness(services)
        return Response(body, status_code=status_code, headers=headers)

    @head("/ready", include_in_schema=False)
    async def ready_head(self, services: NamedDependency[Services]) -> Response[None]:
        """The readiness probe's status and headers, without a body."""
        _, status_code, headers = await _readiness(services)
        return Response(None, status_code=status_code, headers=headers)


async def _readiness(services: Services) -> tuple[dict[str, Any], int, dict[str, str] | None]:
    """Body, status and headers of the readiness probe."""
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
    body = {"status": "ready" if ready else "unavailable", "checks": status}
    return body, 200 if ready else 503, None if ready else {"Retry-After": "5"}


def _reason(exc: BaseException) -> str:
    return type(exc).__name__ if isinstance(exc, ReportsError) else f"error: {type(exc).__name__}"
