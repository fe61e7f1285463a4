"""Status-polling load generator, used where ``wrk`` is not installed.

    python bench/e2e_poller.py URL SECONDS CONNECTIONS

One process, ``CONNECTIONS`` concurrent keep-alive clients (asyncio + httpx) hitting URL
for SECONDS; prints one JSON line: requests, errors, elapsed and every latency in ms.
The benchmark starts several of these so that the client does not starve the api.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx


async def hammer(url: str, seconds: float, connections: int) -> dict[str, object]:
    """GET ``url`` from ``connections`` clients for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async with httpx.AsyncClient(timeout=10, limits=limits) as client:

        async def one() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                    errors += response.status_code != 200
                except httpx.HTTPError:
                    errors += 1
                latencies.append(round((time.perf_counter() - started) * 1000, 3))

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return {"requests": len(latencies), "errors": errors, "elapsed": elapsed,
            "latenciesMs": latencies}  # fmt: skip


def main() -> None:
    """Run and print the result."""
    url, seconds, connections = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(hammer(url, seconds, connections))))


if __name__ == "__main__":
    main()
