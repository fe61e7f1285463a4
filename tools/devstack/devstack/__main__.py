"""``python -m devstack``: install-free local run of the whole stack; Ctrl-C stops it."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from .envfile import ensure_env
from .infra import ensure_rabbitmq, ensure_redis, raise_consumer_timeout
from .stack import Stack, service_specs, start_s3_for
from .supervisor import Supervisor


def main() -> None:
    """Parse the command line and run the stack until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="async-reports-stack", description=__doc__)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("AR_WORKERS", "2")))
    parser.add_argument("--env-file", type=Path, default=Path(".env"))
    parser.add_argument("--state-dir", type=Path, default=Path(".stack"))
    parser.add_argument(
        "--no-s3", action="store_true", help="use the S3 endpoint in the environment"
    )
    args = parser.parse_args()

    env = {"AR_API_HOST": "127.0.0.1", "AR_API_PORT": "8000", "AR_LOG_FORMAT": "console"}
    env.update(ensure_env(args.env_file))
    env.update({k: v for k, v in os.environ.items() if k.startswith("AR_")})
    for step in (ensure_redis, ensure_rabbitmq):
        print(step(), flush=True)
    if raise_consumer_timeout():
        print("rabbitmq: consumer_timeout raised to 2 h for long jobs", flush=True)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    s3 = None if args.no_s3 else start_s3_for(env, args.state_dir.resolve(), None)
    print(f"s3: {env.get('AR_S3_ENDPOINT', '127.0.0.1:8333')}", flush=True)
    stack = Stack(s3, Supervisor(service_specs(env, args.workers)), env)
    stack.supervisor.start()
    print(f"api: {stack.api_url}  (docs at {stack.api_url}/schema/swagger; Ctrl-C stops)")

    def stop(signum: int, frame: object) -> None:
        print("stopping...", flush=True)
        stack.stop()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stack.supervisor.wait()


if __name__ == "__main__":
    main()
