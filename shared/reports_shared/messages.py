"""Wire messages on RabbitMQ. They carry references (job id, object key), never data.

Schema evolution follows msgspec's rules: new fields get defaults, names and types never
change, and ``v`` tells a worker which version wrote a message.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import msgspec

from .constants import BUILD_ACTOR, MESSAGE_VERSION, Lane, Names
from .jobs import JobRecord


class JobMessage(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """Build the report of one job."""

    job_id: str
    report_type: str
    payload_key: str
    lane: Lane = Lane.SMALL
    options: dict[str, str] = msgspec.field(default_factory=dict)
    v: int = MESSAGE_VERSION


def message_for(record: JobRecord) -> JobMessage:
    """The build message of a recorded job."""
    return JobMessage(
        job_id=record.job_id,
        report_type=record.report_type,
        payload_key=record.payload_key,
        lane=record.lane,
        options=record.options,
    )


def to_dramatiq(message: JobMessage, names: Names) -> dramatiq.Message[Any]:
    """The Dramatiq message that asks a worker to build the report."""
    return dramatiq.Message(
        queue_name=names.queue(message.lane),
        actor_name=BUILD_ACTOR,
        args=(msgspec.to_builtins(message),),
        kwargs={},
        options={},
    )


def from_dramatiq_args(payload: Any) -> JobMessage:
    """Decode the single argument of the build actor (unknown newer fields are ignored)."""
    return msgspec.convert(payload, JobMessage)
