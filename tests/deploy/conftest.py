"""The container suite's stack: built images, one compose project for the whole session.

Collected only when asked for (`pytest tests/deploy`, `scripts/containers test`). Without
podman it skips, saying so; with CI set it fails instead. The images come from
`scripts/containers images` (which `scripts/containers test` runs first); the test worker
image (worker + Demora) is built here on top of the worker image.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.deploy.stack import HERE, ROOT, WORKER_TEST_IMAGE, Stack, run
from tests.support.infra import unavailable

WORKER_IMAGE = "localhost/async-reports/worker:dev"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.containers)


def _podman_usable() -> str | None:
    """Why the container stack cannot run here, or None."""
    if shutil.which("podman") is None:
        return "podman is not installed (run scripts/containers setup)"
    if subprocess.run(["podman", "image", "exists", WORKER_IMAGE], check=False).returncode:
        return f"{WORKER_IMAGE} is not built (run scripts/containers images)"
    return None


#: Held while a container suite runs: two suites on one machine share the project name,
#: ports and subnet, and one's `up` would replace the other's containers mid-test.
LOCK = Path(os.environ.get("AR_CT_LOCK", "/tmp/async-reports-container-suite.lock"))


@contextmanager
def _machine_lock(timeout: float = 1800) -> Iterator[None]:
    """The machine's container suite lock; waits (saying so) while another suite holds it."""
    with LOCK.open("a") as handle:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    print(f"another container suite holds {LOCK}; waiting", flush=True)
                    told = True
                if time.monotonic() > deadline:
                    pytest.fail(f"another container suite held {LOCK} for {timeout:.0f} s")
                time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The stack, up with one worker; torn down (volumes too) at the end of the session."""
    reason = _podman_usable()
    if reason:
        unavailable(reason)
    with _machine_lock(), tempfile.TemporaryDirectory(prefix="ar-ct-") as folder:
        context = Path(folder) / "context"
        context.mkdir()
        shutil.copy(ROOT / "tests" / "plugins" / "demora.py", context / "demora.py")
        run("podman", "build", "--quiet", "--tag", WORKER_TEST_IMAGE,
            "--build-arg", f"WORKER_IMAGE={WORKER_IMAGE}",
            "--file", str(HERE / "worker-test.Containerfile"), str(context))  # fmt: skip
        running = Stack(Path(folder))
        running.write_env()
        running.down()  # what an interrupted earlier run left
        try:
            running.up()
            yield running
            _account(running)
        finally:
            if not os.environ.get("AR_CT_KEEP"):
                running.down()


#: The session's figures, for the terminal summary.
FIGURES: dict[str, object] = {}


def _account(stack: Stack) -> None:
    """At the end of the session: every job, every 5xx; fail on a lost, duplicated or
    stuck job and on any 5xx but /ready's 503 (its answer while a dependency is away)."""
    jobs, api_logs = stack.job_accounting(), stack.api_log_errors()
    FIGURES.update(
        jobs=jobs,
        suite_5xx=len(stack.unexpected_5xx()),
        ready_503=len(stack.server_errors) - len(stack.unexpected_5xx()),
        api_logs=api_logs,
    )
    assert not stack.unexpected_5xx(), stack.unexpected_5xx()
    assert api_logs["500"] == 0, "the api logged unhandled errors (500)"
    assert not jobs["lost"] and not jobs["duplicated"] and not jobs["unfinished"], jobs


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("container suite figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
