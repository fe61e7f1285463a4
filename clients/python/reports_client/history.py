"""One page of the job history (``GET /jobs``): its jobs and where the next one starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .models import Job


@dataclass(frozen=True, slots=True)
class JobPage:
    """Jobs newest first, and the cursor of the next page (None after the last).

    A filtered page may hold fewer jobs than asked for, even none, while ``next_cursor``
    is set: the service examines a bounded share of the history per request.
    """

    jobs: list[Job]
    next_cursor: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobPage:
        """From the answer of ``GET /jobs``."""
        cursor = data.get("nextCursor")
        return cls(
            jobs=[Job.from_json(job) for job in data.get("jobs") or []],
            next_cursor=str(cursor) if cursor else None,
            raw=dict(data),
        )
