"""Janitor settings, read from the environment."""

from __future__ import annotations

from reports_shared.settings import CommonSettings, load_settings


class JanitorSettings(CommonSettings, frozen=True, kw_only=True):
    """Everything the janitor needs to know."""

    janitor_interval_seconds: float = 30.0
    #: Port of the janitor's Prometheus metrics; 0: not served.
    janitor_metrics_port: int = 0
    #: Deliveries after which a job whose worker keeps dying is failed instead of requeued.
    max_deliveries: int = 3
    #: Age before an object that belongs to no job is removed.
    orphan_grace_seconds: int = 3_600


def load() -> JanitorSettings:
    """Settings from the environment."""
    return load_settings(JanitorSettings)
