"""The yardstick of the status endpoint: a bare Litestar + Redis endpoint.

    AR_REDIS_URL=redis://... python bench/bare_status.py PORT WORKERS

``GET /bare/{key}`` reads one Redis hash (HGETALL, one round trip, as a status reads its
job) and answers it as JSON: what an engineer writes in an afternoon, with no access
check, estimate or view. Served as the api is (uvicorn, the same workers and options), so
that ``bench/load.py --status-vs-bare`` compares the status with the framework's limit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from litestar import Litestar, get
from redis import asyncio as aioredis


def create_app() -> Litestar:
    """The bare app on the Redis at AR_REDIS_URL."""
    client = aioredis.Redis.from_url(os.environ["AR_REDIS_URL"], decode_responses=True)

    @get("/bare/{key:str}")
    async def bare(key: str) -> dict[str, str]:
        raw = await client.hgetall(key)
        return {str(name): str(value) for name, value in raw.items()}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.aclose()

    return Litestar(route_handlers=[bare], lifespan=[lifespan], logging_config=None)


def main() -> None:
    """Serve the bare app on 127.0.0.1:PORT with WORKERS uvicorn workers."""
    port, workers = int(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(
        "bare_status:create_app",
        factory=True,
        app_dir=str(Path(__file__).parent),
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
