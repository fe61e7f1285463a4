"""Where unfinished tus uploads live, kept in a small JSON file across the process's restarts.

An entry is keyed by what makes it the same submission: the file (absolute path, size,
modification time), the service's address and the submission's fields (report type, user,
options); a file changed since, or sent elsewhere or otherwise, finds no entry. The file is
rewritten whole into a temporary file and renamed over the old one, so a process killed
mid-write leaves the old file or the new one, never half of one; a lock file keeps two
processes from losing each other's entries. Entries older than a week are dropped (the
service forgets unfinished uploads well before that).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the rename is still atomic
    fcntl = None  # type: ignore[assignment]

#: The folder of this client's state under the user's state folder.
APP_FOLDER = "async-reports"
FILE_NAME = "uploads.json"
#: Entries older than this are dropped when the file is written.
KEEP_SECONDS = 7 * 24 * 3600


def default_path() -> Path:
    """``$XDG_STATE_HOME/async-reports/uploads.json``, or under ``~/.local/state``."""
    base = os.environ.get("XDG_STATE_HOME", "")
    folder = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local/state"
    return folder / APP_FOLDER / FILE_NAME


def upload_key(file: Path, service: str, fields: Mapping[str, str]) -> str:
    """The key of a file's upload with these fields to this service."""
    found = file.stat()
    identity = [
        str(file.resolve()),
        found.st_size,
        found.st_mtime_ns,
        service.rstrip("/"),
        sorted(fields.items()),
    ]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class RememberedUpload:
    """An unfinished upload: where it lives and the Idempotency-Key it was created with."""

    url: str
    idempotency_key: str
    file: str = ""
    saved_at: float = 0.0


class UploadStates:
    """The state file at ``path`` (created on the first write)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def get(self, key: str) -> RememberedUpload | None:
        """The upload remembered under ``key``, if any."""
        entry = self._read().get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            return None
        return RememberedUpload(
            url=entry["url"],
            idempotency_key=str(entry.get("idempotencyKey") or ""),
            file=str(entry.get("file") or ""),
            saved_at=float(entry.get("savedAt") or 0.0),
        )

    def put(self, key: str, upload: RememberedUpload) -> None:
        """Remember ``upload`` under ``key``."""
        with self._locked():
            entries = self._read()
            entries[key] = {
                "url": upload.url,
                "idempotencyKey": upload.idempotency_key,
                "file": upload.file,
                "savedAt": upload.saved_at or time.time(),
            }
            self._write(entries)

    def remove(self, key: str) -> None:
        """Forget the upload under ``key`` (nothing happens if there is none)."""
        if not self.path.exists():
            return
        with self._locked():
            entries = self._read()
            if entries.pop(key, None) is not None:
                self._write(entries)

    def _read(self) -> dict[str, Any]:
        """Every entry; a missing or unreadable file is an empty one (it only saves time)."""
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return entries if isinstance(entries, dict) else {}

    def _write(self, entries: dict[str, Any]) -> None:
        oldest = time.time() - KEEP_SECONDS
        kept = {
            key: entry
            for key, entry in entries.items()
            if isinstance(entry, dict) and float(entry.get("savedAt") or 0) >= oldest
        }
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(prefix=".uploads-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(kept, out, indent=2, ensure_ascii=False)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Held while reading and rewriting, so two processes do not lose an entry."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if fcntl is None:  # pragma: no cover
            yield
            return
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
