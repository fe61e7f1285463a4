"""A closed pipe is the reader's choice: what the command writes to it is dropped quietly."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
from reports_client.cli import Console
from reports_client.progress import ProgressBar


@pytest.fixture
def closed_pipe() -> Iterator[io.TextIOWrapper]:
    """A stream whose reader has gone (as ``| head`` after its lines), unbuffered as with
    PYTHONUNBUFFERED=1, so each write reaches the pipe."""
    reader, writer = os.pipe()
    os.close(reader)
    stream = io.TextIOWrapper(open(writer, "wb", buffering=0), write_through=True)  # noqa: SIM115
    yield stream
    stream.close()


def test_a_result_to_a_closed_pipe_is_dropped_and_what_follows_too(
    closed_pipe: io.TextIOWrapper,
) -> None:
    ui = Console(json_output=False, quiet=False, out=closed_pipe, err=io.StringIO())
    ui.result("Trabajo:    j1", {})
    ui.result("Estado:     Completado", {})  # nothing raises, now or at the flush
    closed_pipe.flush()


def test_messages_and_bars_to_a_closed_stderr_never_stop_the_work(
    closed_pipe: io.TextIOWrapper,
) -> None:
    out = io.StringIO()
    ui = Console(json_output=False, quiet=False, out=out, err=closed_pipe)
    ui.info("Trabajo en cola: j1")
    bar = ProgressBar("Descarga", closed_pipe)
    bar.update(0.5)
    bar.close()
    ui.error("algo")
    ui.result("reporte.zip", {})
    assert out.getvalue() == "reporte.zip\n"
