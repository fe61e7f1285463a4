#!/usr/bin/python3
"""Start `weed mini` with S3 on :9000, taking MinIO's `server DIR ...` command and root user.

The identities come from the environment: MINIO_ROOT_USER / MINIO_ROOT_PASSWORD (admin;
or MinIO's older names MINIO_ACCESS_KEY / MINIO_SECRET_KEY) and, when set,
S3_APP_ACCESS_KEY / S3_APP_SECRET_KEY / S3_APP_BUCKET (an identity that may use that one
bucket only), the equivalent of what compose.yaml's minio-init service does
with `mc admin`. `init [URL]` instead waits until the S3 server answers (the stand-in for
minio-init in compose.podman.yaml).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path

ACTIONS = ("Admin", "Read", "List", "Tagging", "Write")


def identity(name: str, key: str, secret: str, bucket: str | None = None) -> dict[str, object]:
    """One SeaweedFS identity; with a bucket, its actions apply to that bucket only."""
    actions = [f"{a}:{bucket}" if bucket else a for a in ACTIONS]
    return {
        "name": name,
        "credentials": [{"accessKey": key, "secretKey": secret}],
        "actions": actions,
    }


def wait(url: str) -> None:
    """Exit 0 once ``url`` answers, 1 after two minutes."""
    for _ in range(120):
        try:
            urllib.request.urlopen(url, timeout=3)  # noqa: S310 (http URL from compose)
            sys.exit(0)
        except OSError:
            time.sleep(1)
    sys.exit(f"{url} did not answer")


def serve(data: Path) -> None:
    """Replace this process with `weed mini`, its S3 gateway on :9000."""
    env = os.environ
    # MINIO_ACCESS_KEY / MINIO_SECRET_KEY: MinIO's older names, which it still reads and
    # testcontainers' MinioContainer sets.
    root_user = env.get("MINIO_ROOT_USER") or env["MINIO_ACCESS_KEY"]
    root_password = env.get("MINIO_ROOT_PASSWORD") or env["MINIO_SECRET_KEY"]
    identities = [identity("root", root_user, root_password)]
    if env.get("S3_APP_ACCESS_KEY"):
        identities.append(
            identity(
                "app", env["S3_APP_ACCESS_KEY"], env["S3_APP_SECRET_KEY"], env["S3_APP_BUCKET"]
            )
        )
    state = data / "weed"
    state.mkdir(parents=True, exist_ok=True)
    config = data / "s3.json"
    config.write_text(json.dumps({"identities": identities}))
    config.chmod(0o600)
    # weed mini reloads its earlier flags from mini.options: start from this command's flags.
    (state / "mini.options").unlink(missing_ok=True)
    weed = shutil.which("weed") or "weed"
    command = [
        weed, "mini", f"-dir={state}", "-ip=127.0.0.1", "-ip.bind=0.0.0.0",
        f"-s3.config={config}", "-s3.port=9000",
        "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
    ]  # fmt: skip
    os.execv(weed, command)


def main(args: list[str]) -> None:
    """`server DIR [MinIO flags]`, `init [URL]`, or any other command as it is."""
    if args[:1] == ["init"]:
        wait(args[1] if len(args) > 1 else "http://minio:9000/healthz")
    elif args[:1] == ["server"]:
        serve(Path(args[1] if len(args) > 1 else "/data"))
    else:
        os.execvp(args[0], args)


if __name__ == "__main__":
    main(sys.argv[1:])
