"""The whole stack as local processes: S3 server, api, workers and janitor."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .s3server import S3Server, start_s3
from .supervisor import Service, Supervisor


@dataclass
class Stack:
    """A running stack: its S3 server, its supervised services and its settings."""

    s3: S3Server | None
    supervisor: Supervisor
    env: dict[str, str]

    @property
    def api_url(self) -> str:
        """Base URL of the api."""
        return f"http://{self.env['AR_API_HOST']}:{self.env['AR_API_PORT']}"

    def stop(self) -> None:
        """Stop the services, then the S3 server."""
        self.supervisor.stop()
        if self.s3 is not None:
            self.s3.stop()


def service_specs(env: dict[str, str], workers: int, janitor: bool = True) -> list[Service]:
    """The api, ``workers`` worker pools (one process each) and the janitor."""
    python = sys.executable
    specs = [Service("api", [python, "-m", "reports_api"], dict(env))]
    for index in range(1, workers + 1):
        specs.append(Service(f"worker-{index}", [python, "-m", "reports_worker"], dict(env)))
    if janitor:
        specs.append(Service("janitor", [python, "-m", "reports_janitor"], dict(env)))
    return specs


def start_s3_for(env: dict[str, str], workdir: Path, port_base: int | None) -> S3Server:
    """Start the S3 server with the credentials in ``env``; point ``env`` at it."""
    s3 = start_s3(
        workdir,
        env["AR_S3_ACCESS_KEY"],
        env["AR_S3_SECRET_KEY"],
        port_base=port_base,
        log_file=workdir / "weed.log",
    )
    env["AR_S3_ENDPOINT"] = s3.endpoint
    return s3
