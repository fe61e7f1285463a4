"""The service's estimates of a job's time left, or until it starts, as the client reads them."""

from __future__ import annotations

from typing import Any

import pytest
from reports_client import Job
from reports_client.eta import about, estimate


def job(status: str, **fields: Any) -> Job:
    return Job.from_json({"jobId": "j", "status": status, "message": "", **fields})


def test_a_running_job_says_how_long_it_has_left() -> None:
    assert estimate(job("Processing", estimatedSecondsLeft=11.2)) == "quedan ~12 s"


def test_a_queued_job_says_when_it_starts() -> None:
    assert estimate(job("Queued", estimatedStartIn=30.0)) == "empieza en ~30 s"


@pytest.mark.parametrize(
    "fields",
    [{}, {"estimatedSecondsLeft": None}, {"estimatedSecondsLeft": "12"},
     {"estimatedSecondsLeft": True}, {"estimatedSecondsLeft": -1},
     {"estimatedSecondsLeft": float("nan")}, {"estimatedStartIn": 30}],
)  # fmt: skip
def test_a_running_job_without_a_sound_estimate_says_nothing(fields: dict[str, Any]) -> None:
    assert estimate(job("Processing", **fields)) == ""


def test_a_finished_job_has_no_estimate() -> None:
    assert estimate(job("Completed", estimatedSecondsLeft=3, estimatedStartIn=3)) == ""


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "1 s"), (0.2, "1 s"), (59.5, "60 s"), (89, "89 s"), (90, "2 min"), (600, "10 min"),
     (5340, "89 min"), (5400, "1 h 30 min"), (7200, "2 h")],
)  # fmt: skip
def test_durations_read_as_people_say_them(seconds: float, text: str) -> None:
    assert about(seconds) == text
