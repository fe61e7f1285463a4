#!/usr/bin/python3
"""`mc ready local`, the one MinIO client command compose.yaml uses (its healthcheck).

Exits 0 when the S3 server in this container answers its health endpoint, like MinIO's mc.
"""

import sys
import urllib.request

if sys.argv[1:] != ["ready", "local"]:
    sys.exit(f"this image's mc stand-in knows only `mc ready local`, not {sys.argv[1:]}")
try:
    urllib.request.urlopen("http://127.0.0.1:9000/healthz", timeout=3)
except OSError as exc:
    sys.exit(f"S3 not ready: {exc}")
