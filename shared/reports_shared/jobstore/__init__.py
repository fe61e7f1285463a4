"""The job store (Redis): one record layout and its scripts, a sync and an asyncio client."""

from .aio import AsyncJobStore
from .sync import JobStore

__all__ = ["AsyncJobStore", "JobStore"]
