"""The status' server CPU per request in-process, beside the bare endpoint's, with no HTTP
server or load tool in between: what our code costs, measured on a busy machine.

    uv run --group bench python bench/status_inprocess.py [--requests 8000] [--rounds 3]
    uv run --group bench python bench/status_inprocess.py --profile queued   # cProfile

Needs Redis at AR_REDIS_URL (default 127.0.0.1:6379); writes the jobs of
``status_vs_bare.seed_jobs`` in a namespace of its own. The api's ASGI app (and the bare
one of ``bare_status.py``) are called directly, ``--concurrency`` requests at a time, for
each target in turn, round after round; each figure is the process CPU time (the Redis
server's not counted) per request, median of the rounds. ``--profile`` runs cProfile on
process time over one target instead and prints its costliest functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import secrets
import statistics
import time
from typing import Any

import bare_status
import uvloop
from status_vs_bare import CLIENT, seed_jobs

from reports_api.app import create_app
from reports_api.settings import ApiSettings
from reports_shared.settings import CommonSettings, load_settings

App = Any  # an ASGI app


async def call(app: App, path: str, headers: list[tuple[bytes, bytes]]) -> int:
    """One GET through ``app``; its status code."""
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
             "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
             "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": headers, "client": ("127.0.0.1", 50000),
             "server": ("127.0.0.1", 8000), "state": {}}  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


async def load(
    app: App, path: str, headers: list[tuple[bytes, bytes]], count: int, at_once: int
) -> None:
    """``count`` requests, ``at_once`` at a time."""
    left = [count]

    async def client() -> None:
        while left[0] > 0:
            left[0] -= 1
            await call(app, path, headers)

    await asyncio.gather(*(client() for _ in range(at_once)))


def targets(redis_url: str) -> tuple[dict[str, tuple[App, str]], list[tuple[bytes, bytes]]]:
    """Each target's app and path, and the headers of every request."""
    key = secrets.token_urlsafe(24)
    env = {"AR_REDIS_URL": redis_url, "AR_NAMESPACE": "inproc" + secrets.token_hex(4),
           "AR_API_KEYS": f"client:{CLIENT}:{key}", "AR_S3_ACCESS_KEY": "unused",
           "AR_S3_SECRET_KEY": "unused", "AR_TOKEN_SECRET": secrets.token_urlsafe(32)}  # fmt: skip
    ids = seed_jobs(env)
    os.environ["AR_REDIS_URL"] = redis_url  # the bare app's
    names = load_settings(CommonSettings, env).names
    api = create_app(load_settings(ApiSettings, env))
    found: dict[str, tuple[App, str]] = {
        "bare": (bare_status.create_app(), f"/bare/{names.job(ids['completed'])}")
    }
    for state, job_id in ids.items():
        found[state] = (api, f"/api/AsyncReports/status/{job_id}")
    return found, [(b"host", b"127.0.0.1"), (b"x-api-key", key.encode())]


async def run(args: argparse.Namespace) -> None:
    """Measure (or profile) every target."""
    apps, headers = targets(args.redis_url)
    for name, (app, path) in apps.items():
        assert await call(app, path, headers) == 200, name
    gc.collect()
    gc.freeze()  # as the api does at start-up
    if args.profile:
        app, path = apps[args.profile]
        await load(app, path, headers, args.requests // 4, args.concurrency)
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        await load(app, path, headers, args.requests, args.concurrency)
        profile.disable()
        stats = pstats.Stats(profile)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(50)
        return
    cpu: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(args.rounds):
        for name, (app, path) in apps.items():
            await load(app, path, headers, args.requests // 8, args.concurrency)  # warm
            before = time.process_time()
            await load(app, path, headers, args.requests, args.concurrency)
            cpu[name].append((time.process_time() - before) / args.requests * 1e6)
    print("| target | CPU µs per request (median, range) |\n|---|---|")
    for name, values in cpu.items():
        print(f"| {name} | {statistics.median(values):.0f} ({min(values):.0f}–{max(values):.0f}) |")


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=8000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--profile", choices=["bare", "queued", "running", "completed"])
    parser.add_argument(
        "--redis-url", default=os.environ.get("AR_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
