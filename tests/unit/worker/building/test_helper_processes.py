"""Batches rendered in helper processes give the very report a single process gives.

Real helper processes (multiprocessing's forkserver), payloads of several batches with
rejected records spread over them, every shape; the ZIPs are compared file by file
(the workbook part by part: only its parts' timestamps may differ).
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from devstack.datasets import write_invoices
from reports_shared.errors import InvalidPayload
from reports_worker.input.arraysplit import BLOCK_BYTES
from reports_worker.reporttypes import Rejector
from reports_worker.reporttypes.facturacion import FacturacionMasiva
from reports_worker.reporttypes.facturacion.invoices import LeanInvoice
from reports_worker.reporttypes.facturacion.report import InvoicePart
from tests.support.builds import Builder, Built

#: About 4 MB: batches for the helper and for the building process both.
INVOICES = 5000


def _payload(**kwargs: Any) -> bytes:
    out = io.BytesIO()
    write_invoices(out, INVOICES, invalid_every=97, **kwargs)
    return out.getvalue()


def _contents(built: Built) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name in built.names():
        data = built.zip.read(name)
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                out |= {f"{name}/{part}": book.read(part) for part in book.namelist()}
        elif name == "manifest.json":
            manifest = json.loads(data)
            for listed in manifest["files"]:
                if listed["name"].endswith(".xlsx"):
                    del listed["sha256"]
            out[name] = json.dumps(manifest).encode()
        else:
            out[name] = data
    return out


@pytest.mark.parametrize("shape", ["array", "ndjson", "wrapped"])
def test_helpers_build_the_same_report(build: Builder, shape: str) -> None:
    # given a payload of several batches with rejected records in each
    data = _payload(ndjson=shape == "ndjson")
    if shape == "wrapped":
        data = b'{"lote": "L-1", "facturas": ' + data + b', "fin": true}'

    # when it is built in this process and by two and three helpers
    alone = build(data)
    helped = [build(data, processes=n) for n in (2, 3)]

    # then every file is the same, the rejections numbered alike
    assert alone.outcome.records_rejected == INVOICES // 97
    assert len(alone.csv("errores.csv")) == 1 + INVOICES // 97
    for other in helped:
        assert (other.outcome.records_processed, other.outcome.records_rejected) == (
            alone.outcome.records_processed,
            alone.outcome.records_rejected,
        )
        assert _contents(other) == _contents(alone)


def test_sheets_split_at_the_row_limit_across_batches(build: Builder) -> None:
    data = _payload()
    report = FacturacionMasiva(sheet_row_limit=700)
    alone, helped = build(data, report), build(data, report, processes=2)
    assert "facturas.xlsx/xl/worksheets/sheet6.xml" in _contents(helped)
    assert _contents(helped) == _contents(alone)


def test_progress_counts_the_bytes_of_the_batches_done_not_those_read_ahead(
    build: Builder,
) -> None:
    # Given a payload of several batches, built here and in a helper (they read ahead)
    payload = _payload()
    figures: list[tuple[int, int]] = []

    # When built
    build(payload, processes=2, progress=lambda records, raw: figures.append((records, raw)))

    # Then no figure counts more bytes than the records done by then span, give or take
    # the batch cut from the block last read (before: the whole payload at the first part)
    for records, raw in figures:
        assert raw <= len(payload) * records / INVOICES + 2 * BLOCK_BYTES, (records, raw)
    assert len(figures) > 2 and figures[-1] == (INVOICES, len(payload))


def test_a_syntax_error_in_a_later_batch_is_reported_alike(build: Builder) -> None:
    data = _payload()
    at = data.index(b'"issueDate": ', len(data) * 3 // 4) + len(b'"issueDate": ')
    broken = data[:at] + b"?" + data[at:]
    alone, helped = _failures(build, broken)
    assert "no es válido cerca del byte" in helped
    assert helped == alone


@pytest.mark.parametrize(
    ("where", "stray", "past", "reason"),
    [
        (0.55, b"?", 0, "hay un carácter no válido"),  # a batch in the middle
        (0.30, b"}", 0, "hay un carácter no válido"),  # an object closed once too often
        # an empty string, then the date's digits where a comma should be
        (0.80, b'"', 2, "tras un valor se esperaba ',' o '}'"),
    ],
)
def test_a_syntax_error_in_a_middle_batch_names_its_byte(
    build: Builder, where: float, stray: bytes, past: int, reason: str
) -> None:
    # Given a payload of several batches with a stray byte before an issue date, far in
    data = _payload()
    at = data.index(b'"issueDate": ', int(len(data) * where)) + len(b'"issueDate": ')
    broken = data[:at] + stray + data[at:]

    # When it is built in one process and with a helper
    alone, helped = _failures(build, broken)

    # Then both say which byte, in the payload's reckoning, and what is wrong there
    assert alone == helped == f"El JSON no es válido cerca del byte {at + past}: {reason}."


def test_an_empty_list_fails_with_helpers_too(build: Builder) -> None:
    with pytest.raises(InvalidPayload, match="vacía"):
        build(b"[]", processes=2)


_BUILD_FOREVER = """
import sys
from pathlib import Path
from reports_worker.reporttypes import build_report

if __name__ == "__main__":
    data = Path(sys.argv[1])
    while True:
        with data.open("rb") as payload:
            build_report("FacturacionMasiva", payload, data.with_suffix(".zip"), job_id="j",
                         processes=3)
        print("built", flush=True)
"""


def test_helpers_exit_when_the_build_is_killed(tmp_path: Path) -> None:
    # given a process building over and over with two helpers
    dataset = tmp_path / "facturas.json"
    dataset.write_bytes(_payload())
    script = tmp_path / "build_forever.py"
    script.write_text(_BUILD_FOREVER)
    builder = subprocess.Popen(
        [sys.executable, str(script), str(dataset)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert builder.stdout is not None
        assert builder.stdout.readline().strip() == "built"
        # the resource tracker, the fork server and, during a build, two helpers
        deadline = time.monotonic() + 10
        while len(helpers := psutil.Process(builder.pid).children(recursive=True)) < 4:
            assert time.monotonic() < deadline, helpers
            time.sleep(0.01)

        # when it is killed mid-build, as the kernel's OOM killer would
        builder.kill()
        builder.wait(timeout=10)

        # then none of its helper processes outlives it
        _, alive = psutil.wait_procs(helpers, timeout=10)
        assert not alive, [process.cmdline()[:3] for process in alive]
    finally:
        builder.kill()


def test_the_first_error_in_payload_order_wins_whoever_renders(build: Builder) -> None:
    # given a bad record in the first batch and junk after the array, batches away
    data = _payload()
    at = _nth(data, b'"invoiceNumber": "', 3) + len(b'"invoiceNumber": "')
    broken = data[:at] + b"\xff" + data[at:] + b" basura"

    # when it is built in one process and with a helper reading ahead
    alone, helped = _failures(build, broken)

    # then both report the bad record, the first error in the payload
    assert "registro 3" in alone
    assert helped == alone


class DyingHelpers(FacturacionMasiva):
    """Its helper processes die as soon as they get a batch, as under the OOM killer."""

    def render(self, records: Iterator[tuple[int, LeanInvoice]], rejected: Rejector) -> InvoicePart:
        if multiprocessing.parent_process() is not None:
            os._exit(1)
        return super().render(records, rejected)


def test_batches_of_a_dead_helper_are_rendered_by_the_build(build: Builder) -> None:
    data = _payload()
    alone = build(data)
    helped = build(data, DyingHelpers(), processes=2)
    assert _contents(helped) == _contents(alone)


def _failures(build: Builder, payload: bytes) -> tuple[str, str]:
    """Why ``payload`` fails in one process, and with a helper."""
    with pytest.raises(InvalidPayload) as alone:
        build(payload)
    with pytest.raises(InvalidPayload) as helped:
        build(payload, processes=2)
    return alone.value.message, helped.value.message


def _nth(data: bytes, needle: bytes, n: int) -> int:
    at = -1
    for _ in range(n):
        at = data.index(needle, at + 1)
    return at


#: Libraries of the worker's services, not of rendering: each would cost the fork server
#: and every helper several MB (structlog draws in rich and pygments; minio, urllib3 and
#: its TLS stack).
_SERVICE_LIBRARIES = ("structlog", "rich", "minio", "urllib3", "redis", "dramatiq")


def test_the_helpers_preload_leaves_the_services_libraries_out() -> None:
    # given a fresh interpreter, as the fork server is
    from reports_worker.building.forkserver import PRELOAD

    probe = (
        f"import importlib, sys\nfor name in {PRELOAD!r}: importlib.import_module(name)\n"
        f"print(sorted(n for n in {_SERVICE_LIBRARIES!r} if n in sys.modules))"
    )

    # when it imports what the fork server preloads for the helpers
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    # then none of the services' libraries came with it
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(sys.platform != "linux", reason="pipe sizes are Linux's")
def test_the_helpers_results_come_through_a_pipe_that_holds_a_part_whole() -> None:
    # A part is ~1 MB: through a 64 KiB pipe, the executor's thread took the GIL back
    # for every 64 KiB while the build worked, and the helper waited on its write.
    import fcntl
    from concurrent.futures import ProcessPoolExecutor

    from reports_worker.building.forkserver import helper_context
    from reports_worker.building.helpers import RESULT_PIPE_BYTES, roomy_results

    with ProcessPoolExecutor(1, mp_context=helper_context()) as pool:
        assert roomy_results(pool) == RESULT_PIPE_BYTES
        reader = pool._result_queue._reader  # type: ignore[attr-defined]
        assert fcntl.fcntl(reader.fileno(), fcntl.F_GETPIPE_SZ) == RESULT_PIPE_BYTES
