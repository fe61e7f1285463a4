"""The whole stack (api, workers, janitor) as real processes on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.infra import Infra
from tests.support.stacks import RunningStack, StackFactory, StackPool


@pytest.fixture
def make_stack(infra: Infra, tmp_path: Path) -> Iterator[StackFactory]:
    """Start stacks with settings of the test's choosing; all are stopped and cleaned after."""
    pool = StackPool(infra, tmp_path)
    yield pool.start
    pool.stop_all()


@pytest.fixture(scope="module")
def module_stacks(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackFactory]:
    """Start stacks shared by the tests of a module (each test must leave the others' jobs
    alone); all are stopped and cleaned after the module."""
    pool = StackPool(infra, tmp_path_factory.mktemp("stack"))
    yield pool.start
    pool.stop_all()


@pytest.fixture(scope="module")
def module_stack(module_stacks: StackFactory) -> RunningStack:
    """One default stack shared by the tests of a module."""
    return module_stacks()


@pytest.fixture
def stack(make_stack: StackFactory) -> RunningStack:
    """A default stack: api, two workers, janitor."""
    return make_stack()


@pytest.fixture
def running_dir(tmp_path: Path) -> Path:
    """Where Demora jobs mark themselves while they run (``tests.support.jobs``)."""
    folder = tmp_path / "running"
    folder.mkdir()
    return folder
