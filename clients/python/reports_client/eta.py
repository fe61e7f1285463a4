"""How long a job has left, or how long until it starts, as the service estimates it."""

from __future__ import annotations

import math
from typing import Any

from .models import Job, JobStatus

#: The status field of each active status's estimate, and how it reads.
_FIELDS = {
    JobStatus.QUEUED: ("estimatedStartIn", "empieza en"),
    JobStatus.PROCESSING: ("estimatedSecondsLeft", "quedan"),
}


def estimate(job: Job) -> str:
    """``quedan ~12 s`` for a running job, ``empieza en ~30 s`` for a queued one; empty
    when the service gives no estimate (an older service, or too early to tell)."""
    if job.status not in _FIELDS:
        return ""
    field, words = _FIELDS[JobStatus(job.status)]
    seconds = _seconds(job.raw.get(field))
    return "" if seconds is None else f"{words} ~{about(seconds)}"


def about(seconds: float) -> str:
    """A duration rounded as people say it: ``12 s``, ``3 min``, ``1 h 5 min``."""
    whole = max(1, math.ceil(seconds))
    if whole < 90:
        return f"{whole} s"
    minutes = round(whole / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _seconds(value: Any) -> float | None:
    """A number of seconds, if the field holds one (read defensively: it is new)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None
