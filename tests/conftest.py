"""Fixtures that give tests real services (RabbitMQ, Redis, S3 storage); markers by folder.

Where they come from (the environment, local services, containers) is in
``tests/support/infra.py``; a missing service skips integration tests on a laptop and
fails them when CI is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.infra import Infra, real_services

#: The marker every test under each folder gets (``-m unit``, ``-m integration``).
FOLDER_MARKERS = {"unit": pytest.mark.unit, "integration": pytest.mark.integration}


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave the container suite (tests/deploy) out unless it is asked for by path."""
    deploy = Path(__file__).parent / "deploy"
    if collection_path != deploy:
        return None
    asked = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return not any(path == deploy or deploy in path.parents for path in asked)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the folder it lives in: tests/unit, tests/integration."""
    here = Path(__file__).parent
    for item in items:
        for folder, marker in FOLDER_MARKERS.items():
            if here / folder in item.path.parents:
                item.add_marker(marker)


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    """RabbitMQ, Redis and S3 storage: named by the environment, local (S3 started when not
    given), or in containers where a Docker engine runs and nothing else is there."""
    with real_services(tmp_path_factory) as found:
        yield found


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch directory."""
    return tmp_path
